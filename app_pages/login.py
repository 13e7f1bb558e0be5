"""登录 Login: the only page before signing in; it shows no data (its own guard)."""

from ui.login import login_page

login_page()
