"""Report rendering: localised tables, the printable HTML page and the XLSX workbook."""
