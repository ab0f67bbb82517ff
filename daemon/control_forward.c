/*
 * control_forward.c - the control socket's answer lines, and the requests
 * of the cardbridge tool that the PKCS#11 helper serves (the rows of
 * protocol/methods.c with both PROTO_M_CONTROL and PROTO_M_HELPER: card
 * management from the desktop, `cardbridge card ...`).
 *
 * They go to the helper as a page's requests do, with the same params
 * checks, budget and handlers (no second PKCS#11 path), except that they
 * come from the user's own desktop: no consent is asked, and the helper's
 * dialogs name "cardbridge" instead of an origin.  Each control connection
 * gets a session id from the daemon's counter, so that its answers find it
 * again and its dialogs are cancelled when it goes; while it waits, its
 * idle timeout is off (the helper's deadline bounds the wait).
 * Runs on the lws service thread.  Must never: serve a page, or hold a PIN.
 */
#include "config.h"

#include <json-c/json.h>
#include <libwebsockets.h>

#include "daemon/control.h"
#include "daemon/control_private.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"

void
control_send(struct control_client *c, char *text)
{
	if (text == NULL)
		return;
	if (msgqueue_push(&c->out, c->wsi, MSGQUEUE_RAW_LINE, text, CONTROL_MAX_BACKLOG) != 0) {
		c->closing = true;
		lws_callback_on_writable(c->wsi);
	}
}

void
control_forward(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	const struct proto_method *m = proto_method_find(req->method, PROTO_M_CONTROL);
	int r;

	if (c->session == 0)
		c->session = ++d->next_session_id;
	/* origin NULL: the tool on the user's desktop (doc/HELPER-IPC.md, "local"). */
	if ((r = p11client_submit(d->p11, c->session, &req->id, req->method, NULL, req->params,
		 config_budget_s(d->cfg, m))) != 0) {
		if (req->id.kind != PROTO_ID_NONE)
			control_send(c, proto_emit_error(&req->id, r, NULL, -1));
		return;
	}
	c->forwarded++;
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
}

bool
control_forward_reply(struct daemon *d, struct p11_reply *r)
{
	struct control_client *c;

	for (c = d->control != NULL ? d->control->clients : NULL; c != NULL; c = c->next)
		if (c->session != 0 && c->session == r->session)
			break;
	if (c == NULL)
		return false;
	if (--c->forwarded <= 0) {
		c->forwarded = 0;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONTROL_IDLE_TIMEOUT);
	}
	log_info("control: %s -> %s", r->method, cb_err_reason(r->err));
	if (r->rpc_id.kind == PROTO_ID_NONE)
		return true;
	if (r->err == 0) {
		control_send(c, proto_emit_result(&r->rpc_id, r->result));
		r->result = NULL; /* transferred */
	} else
		control_send(c, proto_emit_error(&r->rpc_id, r->err, r->message, r->retries_left));
	return true;
}

void
control_forward_abandon(struct daemon *d, struct control_client *c)
{
	/* While stopping, the helper link may be gone before the last client. */
	if (c->forwarded > 0 && d->p11 != NULL)
		p11client_cancel_session(d->p11, c->session);
	c->forwarded = 0;
}
