"""Streamlit glue for the dashboard: connection, cached reads, sidebar, i18n and figures."""
