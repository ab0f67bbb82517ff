# package.mk: the Debian package (debian/), its installed-package tier, and
# the fleet examples' browser test.
# It never builds the package in this tree (dpkg-buildpackage cleans the
# tree it runs in), and never installs anything by itself.
#
#   make deb             build cardbridge_VERSION_ARCH.deb (and its
#                        .changes, .buildinfo, -dbgsym .deb) in the top build
#                        directory, from `make dist` unpacked in deb-build/,
#                        so this tree's own build is never cleaned
#   make check-package   make deb, then tests/test-package.py, as root: lintian,
#                        apt-get install ./cardbridge_*.deb, black-box checks
#                        of the installed programs, apt-get purge leaving no
#                        file behind; log in test-package-suite.log
#
# The package is native (debian/ lives upstream): its version is
# configure.ac's VERSION, and debian/changelog has one entry per release.

deb_version = $$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' '$(srcdir)/debian/changelog')
deb_build_dir = deb-build

EXTRA_DIST += examples/policies/README.md examples/policies/chromium/cardbridge.json \
	examples/policies/firefox/policies.json examples/policies/allow-list/config.json \
	tests/test-package.py

deb: dist
	@v=$(deb_version); case "$$v" in \
	'$(VERSION)') ;; \
	*) echo "deb: debian/changelog is at $$v, configure.ac at $(VERSION): add a changelog entry" >&2; \
	   exit 1 ;; \
	esac
	rm -rf $(deb_build_dir)
	$(MKDIR_P) $(deb_build_dir)
	tar -xzf $(distdir).tar.gz -C $(deb_build_dir)
	cp -R '$(srcdir)/debian' $(deb_build_dir)/$(distdir)/
	cd $(deb_build_dir)/$(distdir) && dpkg-buildpackage -us -uc -b -J
	rm -f cardbridge_*.deb cardbridge-dbgsym_*.deb cardbridge_*.changes cardbridge_*.buildinfo
	mv $(deb_build_dir)/cardbridge*_* .
	rm -rf $(deb_build_dir)
	@ls -1 cardbridge*_$(deb_version)_*

# Not in TESTS: `make check` never installs a system package.  A missing
# tool or a non-root user fails here instead of skipping (CB_PACKAGE_REQUIRED).
check-package: deb
	CB_PACKAGE_REQUIRED=1 CB_DEB_DIR='$(abs_top_builddir)' $(MAKE) $(AM_MAKEFLAGS) check \
		TESTS=tests/test-package.py TEST_SUITE_LOG=test-package-suite.log

# Fleet deployment (issue 16): the shipped Chromium policy, installed as a
# managed policy for one test, lets a public https portal connect and launch
# cardbridge with no prompt.  Root only (it writes /etc/chromium/policies).
TESTS += tests/test-browser-policy.sh
EXTRA_DIST += tests/test-browser-policy.sh tests/browser/policy.test.mjs

clean-local: clean-deb
clean-deb:
	rm -rf $(deb_build_dir)
	rm -f cardbridge_*.deb cardbridge-dbgsym_*.deb cardbridge_*.changes cardbridge_*.buildinfo \
		test-package-suite.log

.PHONY: deb check-package clean-deb
