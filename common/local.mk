# common/: code that more than one of cardbridge's programs links and that
# belongs to none of their folders: the user's language for texts a person
# reads (i18n.c), linked by the PKCS#11 helper (the PIN dialogs) and the
# cardbridge tool, one text domain and catalog in po/ for both; and the
# user's runtime directory (runtime_dir.c), where cardbridged listens for
# the cardbridge tool; writing all of a buffer (fdio.c) and the monotonic
# clock in milliseconds (clock.c), which every program needs.
# Nothing here may load a PKCS#11 module, hold a PIN or do network I/O.
noinst_LIBRARIES += common/libcbcommon.a
common_libcbcommon_a_SOURCES = common/i18n.h common/i18n.c \
	common/runtime_dir.h common/runtime_dir.c common/fdio.h common/fdio.c \
	common/clock.h common/clock.c
