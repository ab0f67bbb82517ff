# tests/mock-p11: a PKCS#11 module that fakes what no token in CI does (a
# PIN-pad reader, a PIN retry counter with COUNT_LOW / FINAL_TRY / LOCKED)
# for tests/test-pin.py, and (wrap.c) a module that misreports or hands out
# private keys for tests/test-key-attributes.py.  A plain shared object built by its own rule:
# check_LTLIBRARIES would need libtool, which the project does not use.
# Built by `make check` (check_DATA), never installed.
check_DATA = tests/mock-p11/mock-p11.so
tests/mock-p11/mock-p11.so: $(srcdir)/tests/mock-p11/mock-p11.c $(srcdir)/tests/mock-p11/wrap.h \
		$(srcdir)/tests/mock-p11/wrap.c
	@$(MKDIR_P) tests/mock-p11
	$(AM_V_CC)$(CC) $(WARN_CFLAGS) $(CFLAGS) $(P11KIT_CFLAGS) $(OPENSSL_CFLAGS) -shared -fPIC \
		-o $@ $(srcdir)/tests/mock-p11/mock-p11.c $(srcdir)/tests/mock-p11/wrap.c \
		$(OPENSSL_LIBS) $(PTHREAD_LIBS)
CLEANFILES += tests/mock-p11/mock-p11.so
EXTRA_DIST += tests/mock-p11/mock-p11.c tests/mock-p11/wrap.h tests/mock-p11/wrap.c
