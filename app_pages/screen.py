"""大屏 Wall screen: configured by its URL, guarded by a device token, refreshed by a fragment."""

from ui import screen

config = screen.enter_screen()

screen.show(config)
