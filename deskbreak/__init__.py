"""deskbreak: a light, kind break reminder for the system tray."""

__version__ = "0.1.0"
