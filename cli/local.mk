# cli/: cardbridge, the command-line tool and cardbridge:// URL handler.
# It reaches cardbridged only over the control socket, never the browser port.
# Its messages are translated with the dialogs' code and catalog (common/i18n.c,
# po/): one text domain, one place that picks the user's language.
bin_PROGRAMS += cli/cardbridge
cli_cardbridge_SOURCES = \
	cli/cli.h cli/cardbridge.c cli/client.c cli/launch.c cli/output.c cli/policy.c \
	cli/card.c cli/card_output.c
cli_cardbridge_CPPFLAGS = $(AM_CPPFLAGS) -DBINDIR=\"$(bindir)\"
cli_cardbridge_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
cli_cardbridge_LDADD = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS)

man_MANS += doc/cardbridge.1 doc/cardbridged.8
EXTRA_DIST += doc/cardbridge.1 doc/cardbridged.8
