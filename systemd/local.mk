# systemd/: user units and the URL-scheme .desktop file (desktop integration issue).
