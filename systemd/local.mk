# systemd/: the user units, the cardbridge:// URL-scheme .desktop file and
# the example system configuration.
#
# The units and the .desktop file name installed programs, so they are
# written at install time from their .in files with this make run's
# directories: "make install prefix=DIR" gives files that name DIR/bin.
# update-desktop-database runs after install and uninstall when it is there
# and we are not staging into DESTDIR (packages run it from a trigger).
# An existing $(sysconfdir)/cardbridge/config.json is never overwritten,
# and uninstall removes it only when it is still the example.

applicationsdir = $(datadir)/applications
cardbridge_confdir = $(sysconfdir)/cardbridge
cb_subst = sed -e 's|@bindir[@]|$(bindir)|g'

EXTRA_DIST += systemd/cardbridge.service.in systemd/cardbridge.socket.in \
	systemd/cardbridge.desktop.in doc/config.json.example

install-data-local: install-systemd-files
uninstall-local: uninstall-systemd-files
install-data-hook: install-desktop-database
uninstall-hook: uninstall-desktop-database
.PHONY: install-systemd-files uninstall-systemd-files install-desktop-database \
	uninstall-desktop-database

install-systemd-files:
	$(MKDIR_P) '$(DESTDIR)$(systemduserunitdir)' '$(DESTDIR)$(applicationsdir)' \
		'$(DESTDIR)$(cardbridge_confdir)'
	$(cb_subst) '$(srcdir)/systemd/cardbridge.service.in' \
		> '$(DESTDIR)$(systemduserunitdir)/cardbridge.service'
	$(cb_subst) '$(srcdir)/systemd/cardbridge.socket.in' \
		> '$(DESTDIR)$(systemduserunitdir)/cardbridge.socket'
	$(cb_subst) '$(srcdir)/systemd/cardbridge.desktop.in' \
		> '$(DESTDIR)$(applicationsdir)/cardbridge.desktop'
	chmod 644 '$(DESTDIR)$(systemduserunitdir)/cardbridge.service' \
		'$(DESTDIR)$(systemduserunitdir)/cardbridge.socket' \
		'$(DESTDIR)$(applicationsdir)/cardbridge.desktop'
	@if test -f '$(DESTDIR)$(cardbridge_confdir)/config.json'; then \
		echo " keeping the existing $(cardbridge_confdir)/config.json"; \
	else \
		echo " $(INSTALL_DATA) doc/config.json.example $(cardbridge_confdir)/config.json"; \
		$(INSTALL_DATA) '$(srcdir)/doc/config.json.example' \
			'$(DESTDIR)$(cardbridge_confdir)/config.json'; \
	fi

uninstall-systemd-files:
	rm -f '$(DESTDIR)$(systemduserunitdir)/cardbridge.service' \
		'$(DESTDIR)$(systemduserunitdir)/cardbridge.socket' \
		'$(DESTDIR)$(applicationsdir)/cardbridge.desktop'
	@if cmp -s '$(srcdir)/doc/config.json.example' \
	    '$(DESTDIR)$(cardbridge_confdir)/config.json'; then \
		echo " rm -f $(cardbridge_confdir)/config.json"; \
		rm -f '$(DESTDIR)$(cardbridge_confdir)/config.json'; \
	fi

install-desktop-database:
	@if test -z '$(DESTDIR)' && command -v update-desktop-database >/dev/null 2>&1; then \
		echo " update-desktop-database -q $(applicationsdir)"; \
		update-desktop-database -q '$(applicationsdir)' || :; \
	fi

# With no .desktop file left, the cache the install-data-hook wrote goes too.
uninstall-desktop-database:
	@dir='$(DESTDIR)$(applicationsdir)'; \
	if test -d "$$dir" && ! ls "$$dir"/*.desktop >/dev/null 2>&1; then \
		rm -f "$$dir/mimeinfo.cache"; \
	elif test -z '$(DESTDIR)' && command -v update-desktop-database >/dev/null 2>&1; then \
		update-desktop-database -q "$$dir" || :; \
	fi
