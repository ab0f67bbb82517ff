# po/: translations of what the user reads in cardbridge's dialogs (issue 4
# section 6), with gettext from glibc's libintl; no autopoint, no libintl.
#
#   po/POTFILES        the sources with marked texts
#   po/cardbridge.pot  the template, made by `make update-po` (xgettext)
#   po/LANG.po         one translation per language; `make update-po` merges
#                      the template into them (msgmerge)
#
# The catalogs are compiled at build time into po/locale/LANG/LC_MESSAGES/
# in the build tree, where the tests find them (CARDBRIDGE_LOCALEDIR), and
# installed as $(localedir)/LANG/LC_MESSAGES/cardbridge.mo.  The template
# and the .po files are sources: they change only on purpose, never as a
# side effect of a build (a read-only source tree in distcheck stays so).

PO_XGETTEXT_FLAGS = --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
	--keyword=P_:1,2 --flag=_:1:pass-c-format --flag=P_:1:pass-c-format \
	--flag=P_:2:pass-c-format --add-comments=TRANSLATORS: --sort-by-file \
	--package-name=$(PACKAGE) --package-version=$(VERSION)

EXTRA_DIST += po/POTFILES po/cardbridge.pot po/pl.po

if HAVE_MSGFMT
plmodir = $(localedir)/pl/LC_MESSAGES
plmo_DATA = po/locale/pl/LC_MESSAGES/cardbridge.mo
endif
CLEANFILES += po/locale/pl/LC_MESSAGES/cardbridge.mo

po/locale/pl/LC_MESSAGES/cardbridge.mo: po/pl.po
	$(AM_V_GEN)$(MKDIR_P) po/locale/pl/LC_MESSAGES && \
	$(MSGFMT) --check -o $@.tmp $(srcdir)/po/pl.po && mv -f $@.tmp $@

# Regenerate the template from the sources, then merge it into each .po.
update-pot:
	$(AM_V_GEN)test "x$(XGETTEXT)" != xno || { echo "update-pot: xgettext is missing" >&2; exit 1; }; \
	cd $(srcdir) && $(XGETTEXT) $(PO_XGETTEXT_FLAGS) -f po/POTFILES -o po/cardbridge.pot
update-po: update-pot
	$(AM_V_GEN)test "x$(MSGMERGE)" != xno || { echo "update-po: msgmerge is missing" >&2; exit 1; }; \
	$(MSGMERGE) --quiet --update --backup=none --previous $(srcdir)/po/pl.po $(srcdir)/po/cardbridge.pot
.PHONY: update-pot update-po

# tests/test-i18n.py checks po/ with the same tools and flags.  The other
# tiers check the English texts: they run in C.UTF-8 whatever the
# developer's locale (and LANGUAGE, which glibc follows in C.UTF-8).
AM_TESTS_ENVIRONMENT += \
	LC_ALL=C.UTF-8; export LC_ALL; unset LANGUAGE; \
	CB_MSGFMT='$(MSGFMT)'; CB_XGETTEXT='$(XGETTEXT)'; \
	CB_XGETTEXT_FLAGS='$(PO_XGETTEXT_FLAGS)'; CB_LOCALEDIR_BUILD='$(abs_top_builddir)/po/locale'; \
	CB_LOCALEDIR_INSTALLED='$(localedir)'; \
	export CB_MSGFMT CB_XGETTEXT CB_XGETTEXT_FLAGS CB_LOCALEDIR_BUILD CB_LOCALEDIR_INSTALLED;
