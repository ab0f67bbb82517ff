// cardbridge.js - the browser client of cardbridge, the local smart-card helper.
//
// A dependency-free ES module.  It speaks doc/PROTOCOL.md (JSON-RPC 2.0 over
// ws://127.0.0.1:48801/, subprotocol "cardbridge.v1") and adds what every
// portal needs around it: starting the helper through cardbridge://start,
// telling "not installed / not running" from "blocked by the browser" or
// "blocked by the page's own Content-Security-Policy", typed errors,
// per-request timeouts and progress, card events, and a connection that
// comes back by itself when the helper restarts.
//
//   import { connect } from './cardbridge.js';
//   button.onclick = async () => {               // from a click: see README
//     const cb = await connect({ launch: true });
//     const tokens = await cb.listTokens();
//   };
//
// It runs in browsers and in Node.js (pass `WebSocket` where there is no
// global one).  It never makes the browser ask the user anything the page
// did not ask for (browser.js).  See README.md beside this file.

export const SUBPROTOCOL = 'cardbridge.v1';
export const DEFAULT_PORT = 48801;
export const LAUNCH_URL = 'cardbridge://start';

// The version, the protocol's reasons, methods, timeouts and card events,
// generated from the daemon's own table at build time (protocol/cb-contract).
import {
	VERSION, PROTOCOL_REASONS, DEFAULT_TIMEOUTS, METHODS, CARD_EVENTS, PROGRESS_STAGES,
} from './contract.js';
import {
	browserEngine, isCspException, localNetworkPermission, now, pageIsLocal, probeIsSilent,
	ReconnectHold, sleep, watchCsp,
} from './browser.js';
export { VERSION, PROTOCOL_REASONS, DEFAULT_TIMEOUTS, METHODS, CARD_EVENTS, PROGRESS_STAGES };
export { browserEngine, localNetworkPermission };

/**
 * Reasons raised by this library itself (they have no protocol `code`).
 * ORIGIN_NOT_ALLOWED is also used when the helper refused the handshake.
 */
export const CLIENT_REASONS = Object.freeze({
	NOT_RUNNING: 'NOT_RUNNING',
	LOCAL_NETWORK_ACCESS_DENIED: 'LOCAL_NETWORK_ACCESS_DENIED',
	ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
	BLOCKED_BY_CSP: 'BLOCKED_BY_CSP',
	CONNECTION_LOST: 'CONNECTION_LOST',
	REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
	ABORTED: 'ABORTED',
	CLOSED: 'CLOSED',
	NOT_SUPPORTED: 'NOT_SUPPORTED',
	PROTOCOL_ERROR: 'PROTOCOL_ERROR',
});

// The names the helper answers to (its Host check refuses every other one,
// *.localhost included).
const HELPER_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

// Chromium only: a refused TCP connection to loopback fails in a few ms; a
// local network access denial comes later (about 15 ms headless, or when the
// user answers the prompt).  Used only when the permission is 'prompt'.
// Firefox refuses a closed port in 4-17 ms and never gates a WebSocket, so
// there the guess would be wrong (doc/BROWSERS.md).
const LNA_MIN_MS = 8;

// Background reconnection of a subscribed client: 0.5 s, doubling, at most
// maxReconnectDelay; never sooner than the browser would let it through.
const RECONNECT_FIRST_MS = 500;

// The helper closes with 1001 when it stops: it may be restarting.
const CLOSE_GOING_AWAY = 1001;
// ... and with 1008 when the page's origin is no longer (or not) allowed.
const CLOSE_POLICY = 1008;

export class CardbridgeError extends Error {
	/**
	 * @param {string} reason  stable reason (PROTOCOL_REASONS or CLIENT_REASONS)
	 * @param {string} message English text for developers and logs
	 * @param {object} [extra] {code, retriesLeft, maybeStored, method, details, cause}
	 */
	constructor(reason, message, extra = {}) {
		super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
		this.name = 'CardbridgeError';
		this.reason = reason;
		this.code = extra.code ?? null;
		this.retriesLeft = extra.retriesLeft ?? null;
		// certificates.install: the write failed, but the card may hold the certificate.
		this.maybeStored = extra.maybeStored === true;
		this.method = extra.method ?? null;
		this.details = extra.details ?? null;
	}

	/** True when the error came from the helper (it has a protocol code). */
	get fromHelper() {
		return this.code !== null;
	}

	static fromRpc(error, method) {
		const data = error && typeof error.data === 'object' && error.data ? error.data : {};
		const code = typeof error?.code === 'number' ? error.code : null;
		const reason = typeof data.reason === 'string' ? data.reason
			: (PROTOCOL_REASONS[code] || 'INTERNAL_ERROR');
		const message = typeof error?.message === 'string' && error.message ? error.message : reason;
		return new CardbridgeError(reason, message, {
			code,
			retriesLeft: Number.isInteger(data.retriesLeft) ? data.retriesLeft : null,
			maybeStored: data.maybeStored === true,
			method,
		});
	}
}

/** A page's listener threw: report it as the browser does, but never into the client. */
function reportListenerError(e) {
	if (typeof globalThis.reportError === 'function')
		globalThis.reportError(e);
	else
		setTimeout(() => { throw e; });
}

/** A tiny event emitter (no dependency, same in browsers and Node.js). */
class Emitter {
	#handlers = new Map();

	on(type, fn) {
		if (typeof fn !== 'function')
			throw new TypeError('listener must be a function');
		if (!this.#handlers.has(type))
			this.#handlers.set(type, new Set());
		this.#handlers.get(type).add(fn);
		return () => this.off(type, fn);
	}

	once(type, fn) {
		const off = this.on(type, (...args) => {
			off();
			fn(...args);
		});
		return off;
	}

	off(type, fn) {
		this.#handlers.get(type)?.delete(fn);
	}

	emit(type, ...args) {
		const set = this.#handlers.get(type);
		if (!set)
			return;
		for (const fn of [...set]) {
			try {
				fn(...args);
			} catch (e) {
				reportListenerError(e);
			}
		}
	}
}

/**
 * One connection to the helper.  Create it with connect(); methods reconnect
 * on demand when the helper closed an idle connection, and a subscribed
 * client reconnects by itself.
 */
export class CardbridgeClient extends Emitter {
	#opts;
	#ws = null;
	#opening = null;
	#nextId = 1;
	#pending = new Map();
	#closedByUser = false;
	#helper = null;
	#subscription = null;	// {mode, timer, tokens, started}
	#hold;
	#earlyClose = new WeakMap();	// open sockets that closed before #adopt()
	#keep = { timer: null, at: 0, attempt: 0, error: null, off: null };

	/** @param {ConnectOptions} options */
	constructor(options = {}) {
		super();
		const port = options.port ?? DEFAULT_PORT;
		if (!Number.isInteger(port) || port < 1 || port > 65535)
			throw new TypeError('port must be an integer from 1 to 65535');
		const host = String(options.host ?? '127.0.0.1').toLowerCase().replace(/^::1$/, '[::1]');
		if (!HELPER_HOSTS.includes(host))
			throw new TypeError('host must be a name cardbridge answers to: 127.0.0.1, localhost or [::1]');
		const probe = options.httpProbe ?? 'auto';
		if (!['auto', 'always', 'never'].includes(probe))
			throw new TypeError("httpProbe must be 'auto', 'always' or 'never'");
		this.#opts = {
			port,
			host,
			launch: !!options.launch,
			launchUrl: options.launchUrl ?? LAUNCH_URL,
			launchTimeout: options.launchTimeout ?? 20000,
			connectTimeout: options.connectTimeout ?? 60000,
			requestTimeout: options.requestTimeout ?? null,
			pollInterval: options.pollInterval ?? 3000,
			reconnect: options.reconnect ?? true,
			maxReconnectDelay: options.maxReconnectDelay ?? 30000,
			httpProbe: probe,
			WebSocket: options.WebSocket ?? globalThis.WebSocket,
			launcher: options.launcher ?? defaultLauncher,
			onStatus: typeof options.onStatus === 'function' ? options.onStatus : null,
		};
		this.#hold = new ReconnectHold(browserEngine());
	}

	/** ws://host:port/ */
	get url() {
		return `ws://${this.#opts.host}:${this.#opts.port}/`;
	}

	/** True while the WebSocket is open. */
	get connected() {
		return !!this.#ws && this.#ws.readyState === 1;
	}

	/** The system.hello result of the current connection (name, version, methods...). */
	get helper() {
		return this.#helper;
	}

	// --- connecting ----------------------------------------------------------

	#status(state, extra = {}) {
		const s = { state, ...extra };
		this.emit('status', s);
		try {
			this.#opts.onStatus?.(s);
		} catch {
			// ignore the page's bug
		}
	}

	/** What a CSP violation for the helper looks like (blockedURI prefixes). */
	#cspPrefixes() {
		const where = `${this.#opts.host}:${this.#opts.port}`;
		return [`ws://${where}`, `http://${where}`];
	}

	/**
	 * One WebSocket attempt.  Resolves with the open socket, or rejects with
	 * {failed: true, code, elapsed, thrown, timedOut, csp}.
	 */
	#attempt(timeoutMs) {
		const hold = this.#hold.holdMs();
		if (hold > 0)
			this.#status('browser-delay', { delayMs: Math.round(hold) });
		const csp = watchCsp(this.#cspPrefixes());
		return new Promise((resolve, reject) => {
			const t0 = now();
			let ws;
			try {
				ws = new this.#opts.WebSocket(this.url, SUBPROTOCOL);
			} catch (e) {
				csp.settle().then((blocked) => reject({ failed: true, thrown: e, elapsed: now() - t0,
					csp: blocked ?? (isCspException(e) ? this.url : null) }));
				return;
			}
			let done = false;
			let permissionHint = null;
			const finish = (ok, arg) => {
				if (done)
					return;
				done = true;
				clearTimeout(timer);
				clearTimeout(permissionHint);
				ws.onopen = ws.onclose = ws.onerror = null;
				if (ok) {
					this.#hold.succeeded();
					csp.settle(0);
					ws.onclose = (e) => this.#earlyClose.set(ws, e);
					resolve(ws);
					return;
				}
				arg.elapsed = now() - t0;
				if (!arg.timedOut)
					this.#hold.failed(hold, arg.elapsed);
				csp.settle().then((blocked) => reject({ ...arg, csp: blocked }));
			};
			const timer = setTimeout(() => {
				try {
					ws.close();
				} catch {
					// not open yet
				}
				finish(false, { failed: true, timedOut: true });
			}, timeoutMs + hold);
			// Chromium holds the handshake while it asks the user; say so.
			if (!pageIsLocal()) {
				permissionHint = setTimeout(async () => {
					if (!done && await localNetworkPermission() === 'prompt')
						this.#status('permission-prompt');
				}, 800 + hold);
			}
			ws.onopen = () => finish(true);
			// Chromium fires no close event for a socket its CSP blocked.
			ws.onerror = () => setTimeout(() => {
				if (ws.readyState === 3)
					finish(false, { failed: true, code: 1006 });
			}, 0);
			ws.onclose = (e) => finish(false, { failed: true, code: e.code });
		});
	}

	/**
	 * Does anything answer plain HTTP on the helper's port?  true, false, or
	 * {csp: url} when the page's own policy forbade the request.
	 */
	async #probe() {
		if (typeof globalThis.fetch !== 'function')
			return false;
		const csp = watchCsp(this.#cspPrefixes());
		const ctl = typeof AbortController === 'function' ? new AbortController() : null;
		const t = setTimeout(() => ctl?.abort(), 3000);
		let answered = false;
		try {
			await fetch(`http://${this.#opts.host}:${this.#opts.port}/`, {
				mode: 'no-cors', cache: 'no-store', credentials: 'omit',
				signal: ctl?.signal,
			});
			answered = true;
		} catch {
			// refused, aborted, or blocked: settle() tells the last one
		} finally {
			clearTimeout(t);
		}
		const blocked = await csp.settle(answered ? 0 : undefined);
		return blocked ? { csp: blocked } : answered;
	}

	/** May the HTTP probe run, without the browser asking the user? */
	#mayProbe(details) {
		if (this.#opts.httpProbe !== 'auto')
			return this.#opts.httpProbe === 'always';
		return probeIsSilent(details.pageIsLocal, details.permission);
	}

	/**
	 * Why did the connection fail?  Returns a CardbridgeError (not thrown), or
	 * the open socket when a second try went through.
	 */
	async #diagnose(failure) {
		const details = {
			url: this.url,
			closeCode: failure.code ?? null,
			elapsedMs: Math.round(failure.elapsed ?? 0),
			engine: browserEngine(),
			pageIsLocal: pageIsLocal(),
			permission: 'not-applicable',
			helperAnswersHttp: null,
			evidence: null,
		};
		if (failure.csp)
			return cspError(details, failure.csp);
		if (failure.thrown) {
			details.evidence = 'constructor';
			return new CardbridgeError('NOT_SUPPORTED',
				`the browser refused to open ${this.url}: ${failure.thrown.message}`,
				{ details, cause: failure.thrown });
		}
		if (!details.pageIsLocal)
			details.permission = await localNetworkPermission();
		if (details.permission === 'denied') {
			details.evidence = 'permission';
			return lnaError(details);
		}
		if (this.#mayProbe(details))
			return this.#diagnoseByProbe(details);
		if (details.engine === 'chromium' && details.permission === 'prompt')
			return this.#diagnoseByTiming(details, failure);
		// Firefox: every HTTP request to a listening loopback port would make
		// it ask the user, and its WebSocket shows a refusal and a closed
		// port alike.  Most likely nothing listens; say both.
		details.evidence = 'refused-unprobed';
		return notRunning(details, `cardbridge is not running on ${this.url} (connection refused): ` +
			'it is not installed or not started, or it runs and refused this page (the browser ' +
			'does not let the page tell these apart without asking the user)');
	}

	async #diagnoseByProbe(details) {
		const probe = await this.#probe();
		if (probe && probe.csp)
			return cspError(details, probe.csp);
		details.helperAnswersHttp = probe === true;
		if (!details.helperAnswersHttp) {
			details.evidence = 'refused';
			return notRunning(details);
		}
		// It may have started between the two: try once more before saying so.
		try {
			return await this.#attempt(this.#opts.connectTimeout);
		} catch (again) {
			details.closeCode = again.code ?? details.closeCode;
		}
		details.evidence = 'http-probe';
		return new CardbridgeError('ORIGIN_NOT_ALLOWED',
			'cardbridge is running but refused this page: its origin is not in the ' +
			'helper\'s allowed origins (or the helper is at its connection limit)',
			{ details });
	}

	/**
	 * Chromium, permission 'prompt': a denial without a prompt (no user
	 * gesture, headless, dismissed) looks like a refused connection, only
	 * later.  Take the faster of two tries.
	 */
	async #diagnoseByTiming(details, failure) {
		let elapsed = failure.elapsed ?? 0;
		if (elapsed >= LNA_MIN_MS) {
			try {
				return await this.#attempt(this.#opts.connectTimeout);
			} catch (again) {
				elapsed = Math.min(elapsed, again.elapsed ?? elapsed);
			}
		}
		details.elapsedMs = Math.round(elapsed);
		if (failure.timedOut || elapsed >= LNA_MIN_MS) {
			details.evidence = 'timing';
			return lnaError(details);
		}
		details.evidence = 'refused-fast';
		return notRunning(details);
	}

	/** Set up a freshly opened socket; checks it is cardbridge with system.hello. */
	async #adopt(ws) {
		if (ws.protocol !== undefined && ws.protocol !== SUBPROTOCOL) {
			ws.close();
			throw new CardbridgeError('PROTOCOL_ERROR',
				`the server on ${this.url} did not accept subprotocol ${SUBPROTOCOL}`);
		}
		this.#ws = ws;
		ws.onmessage = (e) => this.#onMessage(e.data);
		ws.onerror = () => {};
		ws.onclose = (e) => this.#onClose(ws, e);
		let hello;
		try {
			const early = this.#earlyClose.get(ws);
			if (early || ws.readyState === 3)	// closing (2): its close event rejects the hello
				throw this.#lostError({ method: 'system.hello' }, early ?? { code: 1006 }, null);
			hello = await this.#request(ws, 'system.hello', undefined, { timeout: DEFAULT_TIMEOUTS['system.hello'] });
		} catch (e) {
			if (this.#ws === ws) {
				this.#ws = null;
				ws.close();
			}
			throw e;
		}
		if (!hello || hello.name !== 'cardbridge' || hello.protocol !== 1) {
			this.#ws = null;
			ws.close();
			throw new CardbridgeError('PROTOCOL_ERROR',
				`the server on ${this.url} is not a cardbridge helper speaking protocol 1`);
		}
		this.#helper = hello;
		this.#keep.attempt = 0;
		this.#keep.error = null;
		this.#status('connected', { helper: hello });
		this.emit('open', hello);
		if (this.#subscription?.started)
			this.#resubscribe(this.#subscription);
		return hello;
	}

	/**
	 * Connect now (connect() calls it; call it again from a "Try again"
	 * click).  With launch, a failed first attempt opens cardbridge://start
	 * and retries with backoff for up to launchTimeout.  Joins an attempt
	 * already under way, and replaces a scheduled background one.
	 */
	async open({ launch = this.#opts.launch } = {}) {
		if (this.connected)
			return this.#helper;
		if (this.#opening)
			return this.#opening;
		if (typeof this.#opts.WebSocket !== 'function')
			throw new CardbridgeError('NOT_SUPPORTED', 'this browser has no WebSocket');
		this.#closedByUser = false;
		clearTimeout(this.#keep.timer);
		this.#keep.timer = null;
		this.#opening = this.#open(launch).finally(() => {
			this.#opening = null;
		});
		this.#opening.catch((e) => this.#keepAlive(e));
		return this.#opening;
	}

	async #open(launch) {
		this.#status('connecting');
		let ws;
		try {
			ws = await this.#attempt(this.#opts.connectTimeout);
		} catch (failure) {
			const d = await this.#diagnose(failure);
			if (!(d instanceof CardbridgeError))
				ws = d;
			else if (d.reason !== 'NOT_RUNNING' || !launch) {
				this.#status('failed', { error: d });
				throw d;
			} else
				ws = await this.#launchAndWait(d);
		}
		return this.#adopt(ws);
	}

	async #launchAndWait(first) {
		const started = now();
		this.#status('launching', { url: this.#opts.launchUrl });
		try {
			this.#opts.launcher(this.#opts.launchUrl);
		} catch (e) {
			first.details.launchError = String(e?.message ?? e);
		}
		first.details.launched = true;
		let delay = 250;
		let attempt = 0;
		for (;;) {
			const left = this.#opts.launchTimeout - (now() - started);
			if (left <= 0)
				break;
			await sleep(Math.max(Math.min(delay, left), this.#hold.holdMs()));
			delay = Math.min(delay * 2, 2000);
			this.#status('retrying', { attempt: ++attempt });
			try {
				return await this.#attempt(Math.max(1000, Math.min(this.#opts.connectTimeout,
					this.#opts.launchTimeout - (now() - started))));
			} catch (failure) {
				if (this.#closedByUser)
					throw new CardbridgeError('CLOSED', 'close() was called while connecting');
				const d = await this.#stillWorthWaiting(failure, first.details);
				if (d !== true)
					return d;
			}
		}
		const err = first.details.helperAnswersHttp === null
			? notRunning(first.details, `cardbridge did not answer within ` +
				`${Math.round(this.#opts.launchTimeout / 1000)} s of opening ${this.#opts.launchUrl}: it is ` +
				'probably not installed (or the user did not allow the browser to open it), or it runs ' +
				'and refuses this page')
			: notRunning(first.details, `cardbridge did not start within ` +
				`${Math.round(this.#opts.launchTimeout / 1000)} s of opening ${this.#opts.launchUrl}: it is ` +
				'probably not installed (or the user did not allow the browser to open it)');
		this.#status('failed', { error: err });
		throw err;
	}

	/**
	 * While waiting for a launched helper: true to go on waiting, or the open
	 * socket, or throws the error that makes waiting pointless (the page's CSP
	 * forbids the helper; the helper runs but refuses this page).
	 */
	async #stillWorthWaiting(failure, details) {
		let d = null;
		if (failure.csp)
			d = cspError({ ...details }, failure.csp);
		else if (this.#mayProbe(details) && await this.#probe() === true)
			d = await this.#diagnose(failure);
		if (d === null)
			return true;
		if (!(d instanceof CardbridgeError))
			return d;
		if (d.reason === 'NOT_RUNNING')
			return true;
		d.details.launched = true;
		this.#status('failed', { error: d });
		throw d;
	}

	async #ensureOpen() {
		if (this.connected)
			return;
		if (this.#closedByUser)
			throw new CardbridgeError('CLOSED', 'the connection was closed with close()');
		await this.open({ launch: false });
	}

	// --- staying connected -----------------------------------------------------

	/**
	 * A subscribed page wants to hear about cards: after the connection
	 * dropped (or an attempt failed), try again in the background with
	 * backoff, never sooner than the browser lets an attempt through.  No
	 * launch: that needs the user's click (open({launch: true})).
	 */
	#keepAlive(error = null, first = null) {
		const k = this.#keep;
		if (error)
			k.error = error;
		if (!this.#subscription || this.#closedByUser || this.#opts.reconnect === false ||
		    this.connected || this.#opening)
			return;
		const backoff = first ?? Math.min(this.#opts.maxReconnectDelay,
			RECONNECT_FIRST_MS * 2 ** k.attempt);
		const hold = this.#hold.holdMs();
		const delay = Math.round(Math.max(backoff, hold ? hold + 50 : 0));
		clearTimeout(k.timer);
		k.at = now() + delay;
		k.timer = setTimeout(() => {
			k.timer = null;
			k.attempt++;
			this.open({ launch: false }).catch(() => {});	// a failure reschedules
		}, delay);
		this.#status('reconnecting', { attempt: k.attempt + 1, delayMs: delay, error: k.error });
		this.#watchWakeups();
	}

	/** Coming back online or to the tab: try at once rather than at the next backoff. */
	#watchWakeups() {
		const k = this.#keep;
		if (k.off)
			return;
		const win = typeof globalThis.addEventListener === 'function' ? globalThis : null;
		const doc = globalThis.document;
		if (!win && !doc)
			return;
		const wake = () => {
			if (doc?.visibilityState === 'hidden' || !k.timer)
				return;
			if (k.at - now() > 1000 && this.#hold.holdMs() === 0)
				this.#keepAlive(null, 0);
		};
		win?.addEventListener('online', wake);
		doc?.addEventListener('visibilitychange', wake);
		k.off = () => {
			win?.removeEventListener('online', wake);
			doc?.removeEventListener('visibilitychange', wake);
			k.off = null;
		};
	}

	#stopKeepAlive() {
		clearTimeout(this.#keep.timer);
		this.#keep.timer = null;
		this.#keep.off?.();
	}

	/** After a reconnection: events again, and the token list missed meanwhile. */
	async #resubscribe(sub) {
		try {
			await this.#startSubscription(sub);
			const tokens = await this.listTokens();
			if (this.#subscription !== sub)
				return;
			sub.tokens = tokens;
			this.#emitEvent({ type: 'tokensChanged', tokens, synthetic: true, reconnected: true });
		} catch (e) {
			this.emit('subscriptionError', e);
		}
	}

	// --- messages ------------------------------------------------------------

	#emitEvent(ev) {
		this.emit('event', ev);
		if (typeof ev.type === 'string')
			this.emit(ev.type, ev);
	}

	#onMessage(data) {
		let msg;
		try {
			msg = JSON.parse(typeof data === 'string' ? data : String(data));
		} catch {
			this.emit('protocolError', new CardbridgeError('PROTOCOL_ERROR', 'the helper sent invalid JSON'));
			return;
		}
		if (msg && msg.id === undefined && msg.params && typeof msg.params === 'object') {
			if (msg.method === 'event')
				this.#emitEvent(msg.params);
			else if (msg.method === 'progress')
				this.#onProgress(msg.params);
			return;
		}
		const p = msg ? this.#pending.get(msg.id) : undefined;
		if (!p) {
			if (msg && msg.error && (msg.id === null || msg.id === undefined))
				this.emit('protocolError', CardbridgeError.fromRpc(msg.error, null));
			return;	// an answer after its request timed out
		}
		this.#settle(msg.id);
		if (msg.error)
			p.reject(CardbridgeError.fromRpc(msg.error, p.method));
		else
			p.resolve(msg.result);
	}

	/** A stage of a request still in flight; one for a finished request is dropped. */
	#onProgress(params) {
		const p = this.#pending.get(params.id);
		if (!p || typeof params.stage !== 'string')
			return;
		const progress = { ...params, method: p.method };
		try {
			p.onProgress?.(progress);
		} catch (e) {
			reportListenerError(e);
		}
		this.emit('progress', progress);
	}

	#settle(id) {
		const p = this.#pending.get(id);
		if (!p)
			return;
		this.#pending.delete(id);
		clearTimeout(p.timer);
		p.cleanup?.();
	}

	/** Why requests in flight fail when their connection ends. */
	#lostError(p, e, why) {
		if (why === 'user')
			return new CardbridgeError('CLOSED', 'the connection was closed with close()', { method: p.method });
		if (why === 'cancel')
			return new CardbridgeError('ABORTED', `${p.method} was cancelled: the helper was told`,
				{ method: p.method, details: { helperTold: true } });
		if (e.code === CLOSE_POLICY)
			return new CardbridgeError('ORIGIN_NOT_ALLOWED',
				`cardbridge closed the connection before it answered ${p.method}: ${e.reason || 'policy'}`,
				{ method: p.method, details: { closeCode: e.code, closeReason: e.reason || '' } });
		return new CardbridgeError('CONNECTION_LOST',
			`the connection to cardbridge closed (code ${e.code}) before it answered ${p.method}`,
			{ method: p.method, details: { closeCode: e.code, closeReason: e.reason || '' } });
	}

	#onClose(ws, e, why = null) {
		if (this.#ws !== ws)
			return;
		this.#ws = null;
		if (this.#closedByUser)
			why = 'user';
		for (const [id, p] of [...this.#pending]) {
			this.#settle(id);
			p.reject(this.#lostError(p, e, why));
		}
		this.#status('disconnected', { code: e.code, reason: e.reason || '', byUser: why === 'user' });
		this.emit('close', { code: e.code, reason: e.reason || '', byUser: why === 'user' });
		// A stopping helper is often restarting: give it a moment.
		this.#keepAlive(null, why === 'cancel' ? 0 : e.code === CLOSE_GOING_AWAY ? 1000 : null);
	}

	/**
	 * Send any protocol method.  Reconnects first when the helper closed an
	 * idle connection.
	 * @param {string} method
	 * @param {object} [params]
	 * @param {{timeout?: number, signal?: AbortSignal, onProgress?: Function}} [opts]
	 */
	async call(method, params, opts = {}) {
		await this.#ensureOpen();
		const ws = this.#ws;
		if (this.#closedByUser)
			throw new CardbridgeError('CLOSED', 'the connection was closed with close()', { method });
		if (!ws)
			throw new CardbridgeError('CONNECTION_LOST', 'not connected to cardbridge', { method });
		return this.#request(ws, method, params, opts);
	}

	/** One request on an open socket: a promise of its result. */
	#request(ws, method, params, opts) {
		const id = this.#nextId++;
		const timeout = opts.timeout ?? (typeof this.#opts.requestTimeout === 'number'
			? this.#opts.requestTimeout
			: DEFAULT_TIMEOUTS[method] ?? DEFAULT_TIMEOUTS.default);
		const msg = { jsonrpc: '2.0', id, method };
		if (params !== undefined)
			msg.params = params;
		return new Promise((resolve, reject) => {
			if (opts.signal?.aborted) {
				reject(new CardbridgeError('ABORTED', `${method} was aborted`, { method }));
				return;
			}
			const entry = {
				method, resolve, reject, timer: null, cleanup: null,
				onProgress: typeof opts.onProgress === 'function' ? opts.onProgress : null,
			};
			entry.timer = setTimeout(() => {
				this.#settle(id);
				reject(new CardbridgeError('REQUEST_TIMEOUT',
					`cardbridge did not answer ${method} within ${Math.round(timeout / 1000)} s`,
					{ method }));
			}, timeout);
			if (opts.signal) {
				const onAbort = () => {
					this.#settle(id);
					reject(new CardbridgeError('ABORTED', `${method} was aborted`, { method }));
				};
				opts.signal.addEventListener('abort', onAbort, { once: true });
				entry.cleanup = () => opts.signal.removeEventListener('abort', onAbort);
			}
			this.#pending.set(id, entry);
			try {
				ws.send(JSON.stringify(msg));
			} catch (e) {
				this.#settle(id);
				reject(new CardbridgeError('CONNECTION_LOST', `could not send ${method}: ${e.message}`,
					{ method, cause: e }));
			}
		});
	}

	/**
	 * Cancel everything this page asked the helper and has no answer for.
	 * The protocol cancels a connection's requests when it closes, so this
	 * closes the connection: a PIN dialog of theirs closes at once, a waiting
	 * one never opens, and a key pair the card is already generating is
	 * deleted when it is done where the card can delete keys (OpenPGP cards
	 * cannot: see doc/PROTOCOL.md).  They fail here with ABORTED
	 * (details.helperTold); the client stays usable and the next call — or,
	 * when subscribed, the background reconnection — opens a new connection.
	 * @returns {number} how many requests were cancelled
	 */
	cancelRequests() {
		const ws = this.#ws;
		const n = this.#pending.size;
		if (!ws || n === 0)
			return 0;
		try {
			ws.close(1000, 'cancelled');
		} catch {
			// already closing
		}
		this.#onClose(ws, { code: 1000, reason: 'cancelled' }, 'cancel');
		return n;
	}

	// --- the protocol's methods -----------------------------------------------

	/** system.hello: {name, version, protocol, methods, modules}. */
	async hello(opts) {
		const r = await this.call('system.hello', undefined, opts);
		this.#helper = r;
		return r;
	}

	/**
	 * tokens.list: the array of tokens; its waitingCards property lists the
	 * cards whose PKCS#11 module cannot serve them (module by ATR), with why.
	 */
	async listTokens(opts) {
		const r = await this.call('tokens.list', undefined, opts);
		Object.defineProperty(r.tokens, 'waitingCards', { value: r.waitingCards || [], enumerable: false });
		return r.tokens;
	}

	/**
	 * keys.generate: {keyId, publicKey, csr}.  The user types the PIN in the
	 * helper's dialog and a card may take minutes: pass onProgress to hear
	 * the stages (doc/PROTOCOL.md, "Progress").
	 * @param {{token: string, algorithm: object, label?: string, subject?: object, overwrite?: boolean}} params
	 */
	async generateKeyPair(params, opts) {
		requireObject(params, 'generateKeyPair', ['token', 'algorithm']);
		return this.call('keys.generate', params, opts);
	}

	/**
	 * certificates.install: {token, keyId, installed, alreadyPresent, notStored}.
	 * @param {{certificate: string, token?: string, chain?: string[], label?: string, allowExpired?: boolean}} params
	 */
	async installCertificate(params, opts) {
		requireObject(params, 'installCertificate', ['certificate']);
		return this.call('certificates.install', params, opts);
	}

	/** certificates.list: the array of certificates, of one token or of all. */
	async listCertificates(params, opts) {
		const r = await this.call('certificates.list', params && params.token ? { token: params.token } : undefined, opts);
		return r.certificates;
	}

	// Card management (doc/PROTOCOL.md, "Card management"): every PIN is
	// typed in the helper's dialogs; a token's `manage` says which work.

	/** keys.list: the keys on one token. @param {{token: string}} params */
	async listKeys(params, opts) {
		requireObject(params, 'listKeys', ['token']);
		const r = await this.call('keys.list', { token: params.token }, opts);
		return r.keys;
	}

	/** pins.change: {token, pin}. @param {{token: string, which?: 'user'|'so'}} params */
	async changePin(params, opts) {
		requireObject(params, 'changePin', ['token']);
		return this.call('pins.change', params, opts);
	}

	/** pins.unblock: {token, pin, with}. @param {{token: string}} params */
	async unblockPin(params, opts) {
		requireObject(params, 'unblockPin', ['token']);
		return this.call('pins.unblock', { token: params.token }, opts);
	}

	/** pins.initialize: {token, pin}. @param {{token: string}} params */
	async initializePin(params, opts) {
		requireObject(params, 'initializePin', ['token']);
		return this.call('pins.initialize', { token: params.token }, opts);
	}

	/** keys.delete: {token, deleted}. @param {{token: string, keyId: string, withCertificates?: boolean}} params */
	async deleteKey(params, opts) {
		requireObject(params, 'deleteKey', ['token', 'keyId']);
		return this.call('keys.delete', params, opts);
	}

	/** certificates.delete: {token, deleted}. @param {{token: string, keyId?: string, serial?: string, issuer?: string}} params */
	async deleteCertificates(params, opts) {
		requireObject(params, 'deleteCertificates', ['token']);
		return this.call('certificates.delete', params, opts);
	}

	/**
	 * Ask for card events (readerAdded, readerRemoved, cardInserted,
	 * cardRemoved, tokensChanged), delivered as client events of those names
	 * and as 'event'.  Uses events.subscribe where the helper has it; else
	 * it watches tokens.list every pollInterval ms and emits cardInserted,
	 * cardRemoved and tokensChanged (with synthetic: true).  A subscribed
	 * client keeps its connection: when it drops (the helper restarted), the
	 * client reconnects in the background, subscribes again and emits
	 * tokensChanged with the current tokens (synthetic, reconnected: true).
	 * @returns {Promise<{mode: 'events'|'polling'}>}
	 */
	async subscribe() {
		if (this.#subscription)
			return { mode: this.#subscription.mode };
		const sub = { mode: 'events', timer: null, tokens: null, busy: false, started: false };
		this.#subscription = sub;
		try {
			await this.#startSubscription(sub);
		} catch (e) {
			this.#subscription = null;
			throw e;
		}
		sub.started = true;
		return { mode: sub.mode };
	}

	async #startSubscription(sub) {
		try {
			await this.call('events.subscribe');
			sub.mode = 'events';
		} catch (e) {
			if (!(e instanceof CardbridgeError) || e.reason !== 'METHOD_NOT_FOUND')
				throw e;
			sub.mode = 'polling';
			if (sub.tokens === null)
				sub.tokens = await this.listTokens();
		}
		if (sub.mode === 'polling' && !sub.timer)
			sub.timer = setInterval(() => this.#pollTick(sub), this.#opts.pollInterval);
		else if (sub.mode === 'events' && sub.timer) {
			clearInterval(sub.timer);
			sub.timer = null;
		}
	}

	/** A helper without events.subscribe: compare tokens.list with the last one. */
	async #pollTick(sub) {
		if (this.#subscription !== sub || sub.busy || !this.connected)
			return;	// not connected: the background reconnection is on it
		sub.busy = true;
		try {
			const tokens = await this.listTokens();
			const before = new Map((sub.tokens ?? []).map((t) => [t.uri, t]));
			const after = new Map(tokens.map((t) => [t.uri, t]));
			const changed = JSON.stringify(sub.tokens) !== JSON.stringify(tokens);
			sub.tokens = tokens;
			if (!changed)
				return;
			for (const [uri, t] of before)
				if (!after.has(uri))
					this.#emitEvent({ type: 'cardRemoved', token: uri, reader: t.reader, label: t.label, synthetic: true });
			for (const [uri, t] of after)
				if (!before.has(uri))
					this.#emitEvent({ type: 'cardInserted', token: uri, reader: t.reader, label: t.label, synthetic: true });
			this.#emitEvent({ type: 'tokensChanged', tokens, synthetic: true });
		} catch (e) {
			this.emit('subscriptionError', e);
		} finally {
			sub.busy = false;
		}
	}

	/** Stop card events (and the background reconnection that serves them). */
	async unsubscribe() {
		const sub = this.#subscription;
		if (!sub)
			return;
		this.#subscription = null;
		clearInterval(sub.timer);
		this.#stopKeepAlive();
		if (sub.mode === 'events' && this.connected) {
			try {
				await this.call('events.unsubscribe');
			} catch {
				// closing anyway
			}
		}
	}

	/** Close the connection; requests in flight fail with CLOSED. */
	close() {
		this.#closedByUser = true;
		this.#stopKeepAlive();
		if (this.#subscription) {
			clearInterval(this.#subscription.timer);
			this.#subscription = null;
		}
		const ws = this.#ws;
		if (!ws)
			return;
		try {
			ws.close(1000, 'bye');
		} catch {
			// already closing
		}
		// Fail what is pending now; the close event may come later.
		this.#onClose(ws, { code: 1000, reason: 'bye' }, 'user');
	}
}

function requireObject(params, fn, keys) {
	if (!params || typeof params !== 'object')
		throw new TypeError(`${fn}: params must be an object`);
	for (const k of keys)
		if (params[k] === undefined || params[k] === null || params[k] === '')
			throw new TypeError(`${fn}: params.${k} is required`);
}

function notRunning(details, message) {
	return new CardbridgeError('NOT_RUNNING', message ??
		`cardbridge is not running on ${details.url} (connection refused): it is not ` +
		'installed, or not started', { details });
}

function lnaError(details) {
	return new CardbridgeError('LOCAL_NETWORK_ACCESS_DENIED',
		'the browser blocked this page from connecting to cardbridge on this device: the ' +
		'local network access permission ("Access other apps and services on this device") ' +
		`is ${details.permission === 'denied' ? 'denied' : 'not granted'} for this site`,
		{ details });
}

function cspError(details, blockedUrl) {
	details.evidence = 'csp';
	details.blockedUrl = blockedUrl;
	const origin = blockedUrl.replace(/^(\w+:\/\/[^/]+).*$/, '$1');
	return new CardbridgeError('BLOCKED_BY_CSP',
		`this page's Content-Security-Policy blocks ${origin}: add it to connect-src ` +
		`(cardbridge needs ws:// there${origin.startsWith('http:') ? ', and http:// to tell a ' +
			'helper that refuses this page from one that is not running' : ''})`,
		{ details });
}

/** Opens cardbridge://start without leaving the page. */
function defaultLauncher(url) {
	const doc = globalThis.document;
	if (!doc)
		throw new Error('no document to open ' + url + ' from');
	const a = doc.createElement('a');
	a.href = url;
	a.rel = 'noopener';
	a.style.display = 'none';
	doc.body.appendChild(a);
	try {
		a.click();
	} finally {
		a.remove();
	}
}

/**
 * Connect to the helper.  Call it from a click when the page is public: the
 * browser may ask the user for the local network access permission, and
 * opening cardbridge://start needs a user gesture.
 * @param {ConnectOptions} [options]
 * @returns {Promise<CardbridgeClient>}
 */
export async function connect(options = {}) {
	const client = new CardbridgeClient(options);
	await client.open();
	return client;
}

export default { connect, CardbridgeClient, CardbridgeError, localNetworkPermission, browserEngine };
