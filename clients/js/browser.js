// browser.js - what a page can learn about its browser and about a failed
// connection to the helper, for cardbridge.js.
//
// A WebSocket that fails shows the page only "error, then close 1006",
// whatever happened.  What else a page can know, each measured in the
// browsers named (doc/BROWSERS.md): which engine runs it, its local network
// access permission, whether its own Content-Security-Policy blocked a URL,
// and how long Firefox holds back a WebSocket to an address that failed.
// Nothing here opens a connection, and nothing here may ever make the
// browser ask the user a question: the one request that can (the HTTP
// probe) lives in cardbridge.js and runs only where probeIsSilent() says so.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const now = () => (globalThis.performance ? performance.now() : Date.now());

/**
 * The browser engine running this page: 'chromium' (Chrome, Edge, Opera,
 * Brave...), 'gecko' (Firefox), 'webkit' (Safari), 'node' (Node.js, no
 * page) or 'unknown'.  Used only where engines really differ (timing of a
 * local network access denial, Firefox's reconnect delay, the wording of
 * the browser's questions), never to refuse a browser.
 */
export function browserEngine() {
	const nav = globalThis.navigator;
	if (!globalThis.document && globalThis.process?.versions?.node)
		return 'node';
	const brands = nav?.userAgentData?.brands;
	if (Array.isArray(brands) && brands.some((b) => b && b.brand === 'Chromium'))
		return 'chromium';
	const ua = String(nav?.userAgent || '');
	if (/\bFirefox\/\d/.test(ua))
		return 'gecko';
	if (/\b(Chrome|Chromium|Edg)\/\d/.test(ua))
		return 'chromium';
	if (/\bAppleWebKit\/\d/.test(ua) && /\bVersion\/\d/.test(ua))
		return 'webkit';
	return 'unknown';
}

/** A host that is this computer: no browser permission applies between two of them. */
export function isLoopbackHost(host) {
	const h = String(host || '').toLowerCase();
	return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || h === '::1' ||
		/^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Where the page runs: true when no browser permission applies to loopback. */
export function pageIsLocal() {
	const loc = globalThis.location;
	if (!loc || !loc.hostname)
		return true;		// Node.js, workers without location: no LNA
	return isLoopbackHost(loc.hostname);
}

/**
 * The page's local-network-access permission: 'granted', 'denied', 'prompt'
 * or 'unsupported'.  Chromium 142+ knows 'loopback-network' (and the older
 * umbrella name 'local-network-access').  Firefox 153 knows
 * 'loopback-network' but answers 'prompt' whatever the user or a policy
 * allowed; browsers without local network access throw a TypeError.
 */
export async function localNetworkPermission() {
	const perms = globalThis.navigator?.permissions;
	if (!perms || typeof perms.query !== 'function')
		return 'unsupported';
	for (const name of ['loopback-network', 'local-network-access']) {
		try {
			const status = await perms.query({ name });
			if (status && typeof status.state === 'string')
				return status.state;
		} catch {
			// unknown permission name in this browser: try the next
		}
	}
	return 'unsupported';
}

/**
 * Would a plain HTTP request from this page to loopback go out without the
 * browser asking the user?  Chromium asks (or refuses) unless the permission
 * is 'granted'; Firefox 153 asks for every fetch, XHR, image, script or
 * EventSource to a loopback port where something listens (but not for a
 * WebSocket), and its Permissions API cannot tell when a policy or the user
 * already allowed it; browsers without local network access never ask.
 */
export function probeIsSilent(local, permission) {
	return local || permission === 'granted' || permission === 'unsupported';
}

/** Firefox's answer to a WebSocket its page's CSP forbids: thrown, not an event. */
export function isCspException(e) {
	return !!e && (e.name === 'NS_ERROR_CONTENT_BLOCKED' || e.result === 0x805e0006);
}

/**
 * Watch for the page's Content-Security-Policy blocking one of `prefixes`
 * (e.g. 'ws://127.0.0.1:48801').  Both engines report a blocked connection
 * with a securitypolicyviolation event a few ms AFTER the WebSocket or
 * fetch failed, so settle() waits a little for it.
 */
export function watchCsp(prefixes) {
	const target = globalThis.document ??
		(typeof globalThis.addEventListener === 'function' ? globalThis : null);
	let blocked = null;
	const onViolation = (e) => {
		const uri = String(e?.blockedURI || '');
		if (!blocked && prefixes.some((p) => uri === p || uri.startsWith(p + '/')))
			blocked = uri;
	};
	target?.addEventListener('securitypolicyviolation', onViolation);
	return {
		async settle(ms = 40) {
			if (!blocked && target)
				await sleep(ms);
			target?.removeEventListener('securitypolicyviolation', onViolation);
			return blocked;
		},
	};
}

// Firefox's numbers (netwerk/protocol/websocket/WebSocketChannel.cpp,
// FailDelay; pref network.websocket.delay-failed-reconnects): 200-400 ms
// after a first failure, 1.5 times more after each further one, at most
// 60 s; the record is dropped 60 s + the delay after the last failure, and
// on a successful connection.
const HOLD_FIRST_MS = 400;		// the top of 200-400: never under-estimate
const HOLD_MAX_MS = 60000;
const HOLD_LIFETIME_MS = 60000;

/**
 * How long the browser will hold back our next WebSocket to the helper.
 * Firefox delays a connection to an address, port and path whose last
 * attempt failed; a client that retried on its own schedule would find its
 * attempts (and the user's "Try again") silently queued for up to a minute.
 * The client keeps the same count, schedules no attempt the browser would
 * hold, and tells the page when one will wait.  If an attempt the model
 * said would wait comes back at once, the browser does not delay (the pref
 * is off, or another engine) and the model switches itself off.
 */
export class ReconnectHold {
	#on;
	#next = 0;
	#last = 0;

	constructor(engine) {
		this.#on = engine === 'gecko';
	}

	/** ms the browser will hold an attempt started now (0: none). */
	holdMs(t = now()) {
		if (!this.#on || !this.#next)
			return 0;
		if (t >= this.#last + HOLD_LIFETIME_MS + this.#next) {
			this.#next = 0;
			return 0;
		}
		return Math.max(0, this.#next - (t - this.#last));
	}

	/** An attempt failed after `elapsed` ms, `predicted` ms of it a hold. */
	failed(predicted, elapsed, t = now()) {
		if (!this.#on)
			return;
		if (predicted > 500 && elapsed < predicted / 2) {
			this.#on = false;
			return;
		}
		const live = this.#next && t < this.#last + HOLD_LIFETIME_MS + this.#next;
		this.#next = live ? Math.min(HOLD_MAX_MS, this.#next * 1.5) : HOLD_FIRST_MS;
		this.#last = t;
	}

	succeeded() {
		this.#next = 0;
	}
}
