// Unit tests of clients/js/cardbridge.js against a real cardbridged (with a
// throw-away SoftHSM2 token and the scripted pinentry).  Node.js 20 has no
// global WebSocket: the `ws` package stands in for the browser's, with the
// Origin header a page would send.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

// A hook that hangs (a browser that never answers) must fail the tier, not stall it.
const HOOK_TIMEOUT = 180000;

const why = H.missing();
const skip = why ? { skip: why } : {};
const ORIGIN = 'https://portal.example';

let WebSocket, cb, hsm, daemon, dir, script;

function wsFor(origin) {
	return class extends WebSocket {
		constructor(url, protocol) {
			super(url, protocol, { origin });
		}
	};
}

function opts(extra = {}) {
	return { port: daemon.port, WebSocket: wsFor(ORIGIN), ...extra };
}

function answerPins(...lines) {
	fs.writeFileSync(script, lines.map((l) => l + '\n').join(''));
}

async function rejects(promise, reason) {
	try {
		await promise;
	} catch (e) {
		assert.ok(e instanceof cb.CardbridgeError, `expected a CardbridgeError, got ${e}`);
		assert.equal(e.reason, reason, `reason (message: ${e.message})`);
		return e;
	}
	assert.fail(`expected ${reason}, the call succeeded`);
}

before(async () => {
	if (why)
		return;
	WebSocket = (await import('ws')).default;
	cb = await import(H.CLIENT_URL);
	dir = H.tmpdir('cb-js-client-');
	hsm = H.makeSoftHSM(['cardbridge demo']);
	script = path.join(dir, 'pinentry-script');
	answerPins();
	// An administrator's strict allow-list: origins not on it are refused in the handshake.
	daemon = await H.startDaemon({ origins: [ORIGIN], config: { unknownOrigins: 'refuse' },
		env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
}, { timeout: HOOK_TIMEOUT });

after(async () => {
	await daemon?.stop();
	hsm?.cleanup();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: HOOK_TIMEOUT });

async function firstToken(client) {
	const tokens = await client.listTokens();
	const t = tokens.find((x) => x.label === 'cardbridge demo');
	assert.ok(t, 'the SoftHSM token is listed');
	return t;
}

test('connect opens the socket with subprotocol cardbridge.v1 and checks system.hello', skip, async () => {
	const client = await cb.connect(opts());
	try {
		assert.equal(client.connected, true);
		assert.equal(client.url, `ws://127.0.0.1:${daemon.port}/`);
		assert.equal(client.helper.name, 'cardbridge');
		assert.equal(client.helper.protocol, 1);
		assert.ok(client.helper.methods.includes('keys.generate'));
		const hello = await client.hello();
		assert.equal(hello.version, client.helper.version);
	} finally {
		client.close();
	}
});

test('nothing listening: NOT_RUNNING, told apart from a refusal', skip, async () => {
	const port = await H.freePort();
	const e = await rejects(cb.connect({ port, WebSocket: wsFor(ORIGIN) }), 'NOT_RUNNING');
	assert.equal(e.code, null);
	assert.equal(e.details.helperAnswersHttp, false);
	assert.equal(e.details.closeCode, 1006);
	assert.equal(e.details.permission, 'not-applicable');
	assert.match(e.message, /not running/);
});

test('origin not in the allow-list: ORIGIN_NOT_ALLOWED (the helper answers, but refuses)', skip, async () => {
	const e = await rejects(cb.connect(opts({ WebSocket: wsFor('https://evil.example') })), 'ORIGIN_NOT_ALLOWED');
	assert.equal(e.details.helperAnswersHttp, true);
	assert.equal(e.details.evidence, 'http-probe');
});

test('launch: the launcher opens cardbridge://start, the helper starts, the client connects', skip, async () => {
	const port = await H.freePort();
	const launched = [];
	let started = null;
	const statuses = [];
	const client = await cb.connect({
		port, launch: true, launchTimeout: 20000, WebSocket: wsFor(ORIGIN),
		launcher: (url) => {
			launched.push(url);
			started = H.startDaemon({ origins: [ORIGIN], port, env: hsm.env });
		},
		onStatus: (s) => statuses.push(s.state),
	});
	try {
		assert.deepEqual(launched, ['cardbridge://start']);
		assert.equal(client.helper.name, 'cardbridge');
		assert.ok(statuses.includes('launching'), statuses.join(','));
		assert.equal(statuses.at(-1), 'connected');
	} finally {
		client.close();
		await (await started)?.stop();
	}
});

test('launch: a helper that never starts ends in NOT_RUNNING with launched: true', skip, async () => {
	const port = await H.freePort();
	let calls = 0;
	const e = await rejects(cb.connect({
		port, launch: true, launchTimeout: 1500, WebSocket: wsFor(ORIGIN),
		launcher: () => { calls++; },
	}), 'NOT_RUNNING');
	assert.equal(calls, 1);
	assert.equal(e.details.launched, true);
	assert.match(e.message, /did not start/);
});

test('listTokens returns the token with its PIN flags and key types', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		assert.match(t.uri, /^pkcs11:.*token=cardbridge%20demo/);
		assert.equal(t.flags.pinLocked, false);
		const rsa = t.keyTypes.find((k) => k.type === 'RSA');
		assert.ok(rsa && rsa.bits.includes(2048));
	} finally {
		client.close();
	}
});

test('generateKeyPair: PIN from the dialog, a CSR that openssl verifies, the key on the token', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins(`pin ${H.PIN}`);
		const r = await client.generateKeyPair({
			token: t.uri, algorithm: { type: 'EC', curve: 'P-256' }, label: 'js client test',
			subject: { CN: 'Jane Client', C: 'PL' },
		});
		assert.match(r.keyId, /^[0-9a-f]{2,}$/);
		const csrFile = path.join(dir, 'gen.csr');
		fs.writeFileSync(csrFile, r.csr);
		const v = H.run('openssl', ['req', '-in', csrFile, '-verify', '-noout', '-subject']);
		assert.match(v.stdout + v.stderr, /verify OK/i);
		assert.match(v.stdout, /CN\s*=\s*Jane Client/);
		const keys = hsm.objects('cardbridge demo').filter((o) => o.kind === 'Private Key' && o.id === r.keyId);
		assert.equal(keys.length, 1, 'one private key with the returned id');
	} finally {
		client.close();
	}
});

test('errors are typed: PIN_INCORRECT, USER_CANCELLED, INVALID_PARAMS, UNSUPPORTED_ALGORITHM carry reason and code', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		const alg = { type: 'EC', curve: 'P-256' };
		// The helper asks again after a wrong PIN: the third wrong one ends the request.
		answerPins('pin 000000', 'pin 000000', 'pin 000000');
		const wrong = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg }), 'PIN_INCORRECT');
		assert.equal(wrong.code, -32005);
		assert.equal(wrong.method, 'keys.generate');
		assert.equal(wrong.fromHelper, true);
		assert.ok(wrong.retriesLeft === null || Number.isInteger(wrong.retriesLeft));
		answerPins('cancel');
		const cancelled = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg }), 'USER_CANCELLED');
		assert.equal(cancelled.code, -32004);
		const bad = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg, subject: { C: 'POL' } }), 'INVALID_PARAMS');
		assert.equal(bad.code, -32602);
		assert.match(bad.message, /C/);
		const weak = await rejects(client.generateKeyPair({ token: t.uri, algorithm: { type: 'RSA', bits: 1024 } }), 'UNSUPPORTED_ALGORITHM');
		assert.equal(weak.code, -32011);
		await rejects(client.call('no.such.method'), 'METHOD_NOT_FOUND');
		await assert.rejects(client.generateKeyPair({ algorithm: alg }), TypeError);
	} finally {
		client.close();
	}
});

test('installCertificate and listCertificates: the issued certificate lands next to its key', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins(`pin ${H.PIN}`, `pin ${H.PIN}`);
		const k = await client.generateKeyPair({
			token: t.uri, algorithm: { type: 'RSA', bits: 2048 }, subject: { CN: 'Joe Install' },
		});
		const { cert } = H.signWithTestCA(dir, k.csr);
		const r = await client.installCertificate({ certificate: cert, token: t.uri });
		assert.equal(r.keyId, k.keyId);
		assert.equal(r.installed.length, 1);
		assert.match(r.installed[0].subject, /Joe Install/);
		const again = await client.installCertificate({ certificate: cert, token: t.uri });
		assert.equal(again.installed.length, 0);
		assert.equal(again.alreadyPresent.length, 1);
		const certs = await client.listCertificates({ token: t.uri });
		const mine = certs.find((c) => c.keyId === k.keyId);
		assert.ok(mine, 'certificates.list shows it');
		assert.equal(mine.hasPrivateKey, true);
	} finally {
		client.close();
	}
});

test('a request that outlives its timeout fails with REQUEST_TIMEOUT; the client goes on', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins('hang');
		const e = await rejects(client.generateKeyPair(
			{ token: t.uri, algorithm: { type: 'EC', curve: 'P-256' } }, { timeout: 500 }), 'REQUEST_TIMEOUT');
		assert.equal(e.method, 'keys.generate');
		assert.equal(e.code, null);
		const hello = await client.hello();
		assert.equal(hello.name, 'cardbridge');
	} finally {
		client.close();
	}
});

test('an aborted request fails with ABORTED', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const ctl = new AbortController();
		ctl.abort();
		await rejects(client.hello({ signal: ctl.signal }), 'ABORTED');
	} finally {
		client.close();
	}
});

test('close() fails what is in flight with CLOSED and refuses new calls', skip, async () => {
	const client = await cb.connect(opts());
	const t = await firstToken(client);
	answerPins('hang');
	const pending = client.generateKeyPair({ token: t.uri, algorithm: { type: 'EC', curve: 'P-256' } });
	const closes = [];
	client.on('close', (c) => closes.push(c));
	client.close();
	await rejects(pending, 'CLOSED');
	await rejects(client.hello(), 'CLOSED');
	assert.equal(client.connected, false);
	assert.deepEqual(closes.map((c) => c.byUser), [true]);
});

test('reconnect on demand after the helper closed an idle connection', skip, async () => {
	const d2 = await H.startDaemon({
		origins: [ORIGIN], env: hsm.env,
		config: { limits: { idleTimeoutSeconds: 1 } },
	});
	const client = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN) });
	try {
		const closed = new Promise((resolve) => client.once('close', resolve));
		const info = await closed;
		assert.equal(info.byUser, false);
		assert.equal(client.connected, false);
		let reopened = 0;
		client.on('open', () => reopened++);
		const tokens = await client.listTokens();
		assert.ok(Array.isArray(tokens));
		assert.equal(client.connected, true);
		assert.equal(reopened, 1);
	} finally {
		client.close();
		await d2.stop();
	}
});

test('subscribe uses events.subscribe, and a subscribed connection is not closed as idle', skip, async () => {
	const d2 = await H.startDaemon({
		origins: [ORIGIN], env: hsm.env,
		config: { limits: { idleTimeoutSeconds: 1 } },
	});
	const client = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN), pollInterval: 200 });
	const idle = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN) });
	try {
		const closes = [];
		client.on('close', (c) => closes.push(c));
		const idleClosed = new Promise((resolve) => idle.once('close', resolve));
		const sub = await client.subscribe();
		assert.equal(sub.mode, 'events');
		await idleClosed;	// the other connection was idle for the same time
		assert.deepEqual(closes, []);
		assert.equal(client.connected, true);
		await client.unsubscribe();
	} finally {
		client.close();
		idle.close();
		await d2.stop();
	}
});

// --- progress, reconnection, cancelling: what the daemon cannot yet be made to do --------

/**
 * A stand-in helper (the `ws` package's server): answers system.hello, and
 * hands every other request to onRequest(msg, send).  For what the real
 * daemon does not do (yet): progress notifications, closing with 1008.
 */
async function fakeHelper(onRequest, { onConnection = null } = {}) {
	const { WebSocketServer } = await import('ws');
	const port = await H.freePort();
	const wss = new WebSocketServer({ port, host: '127.0.0.1', handleProtocols: (p) => (p.has('cardbridge.v1') ? 'cardbridge.v1' : false) });
	await new Promise((r) => wss.once('listening', r));
	wss.on('connection', (sock) => {
		const send = (obj) => sock.send(JSON.stringify({ jsonrpc: '2.0', ...obj }));
		if (onConnection?.(sock, send) === false)
			return;
		sock.on('message', (data) => {
			const msg = JSON.parse(String(data));
			if (msg.method === 'system.hello')
				send({ id: msg.id, result: { name: 'cardbridge', version: '0.0.0-fake', protocol: 1, methods: [], modules: [] } });
			else
				onRequest(msg, send, sock);
		});
	});
	return { port, close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }) };
}

test('progress: onProgress and the progress event get each stage of their request, in order, and nothing after the answer', skip, async () => {
	const helper = await fakeHelper((msg, send) => {
		// Someone else's request id first, then ours, the answer, then a straggler.
		send({ method: 'progress', params: { id: 999, stage: 'waitingForPin', elapsedMs: 1 } });
		const stages = ['waitingForPin', 'pinAccepted', 'generatingKey', 'signingRequest'];
		stages.forEach((stage, i) => send({ method: 'progress', params: { id: msg.id, stage, elapsedMs: 10 * i, ...(i < 2 ? { pin: 'user' } : {}) } }));
		send({ id: msg.id, result: { keyId: '01', publicKey: 'P', csr: 'C' } });
		send({ method: 'progress', params: { id: msg.id, stage: 'writingCertificate', elapsedMs: 99 } });
	});
	const client = await cb.connect({ port: helper.port, WebSocket: wsFor(ORIGIN) });
	try {
		const seen = [];
		const events = [];
		client.on('progress', (p) => events.push(p));
		const r = await client.generateKeyPair({ token: 'pkcs11:token=x', algorithm: { type: 'EC', curve: 'P-256' } },
			{ onProgress: (p) => seen.push(p) });
		assert.equal(r.keyId, '01');
		await H.sleep(50);	// the straggler has arrived by now
		assert.deepEqual(seen.map((p) => p.stage), ['waitingForPin', 'pinAccepted', 'generatingKey', 'signingRequest']);
		assert.deepEqual(seen[0], { id: seen[0].id, stage: 'waitingForPin', elapsedMs: 0, pin: 'user', method: 'keys.generate' });
		assert.deepEqual(events, seen, 'the client event carries the same stages, and no other request\'s');
		for (const p of seen)
			assert.ok(cb.PROGRESS_STAGES.includes(p.stage));
	} finally {
		client.close();
		await helper.close();
	}
});

test('a listener that throws on progress breaks neither the request nor the client', skip, async () => {
	const helper = await fakeHelper((msg, send) => {
		send({ method: 'progress', params: { id: msg.id, stage: 'waitingForPin', elapsedMs: 0, pin: 'user' } });
		send({ id: msg.id, result: { tokens: [] } });
	});
	const client = await cb.connect({ port: helper.port, WebSocket: wsFor(ORIGIN) });
	const reported = [];
	globalThis.reportError = (e) => reported.push(e);	// as in a browser
	try {
		const r = await client.call('tokens.list', undefined, { onProgress: () => { throw new Error('page bug'); } });
		assert.deepEqual(r, { tokens: [] });
		assert.deepEqual(reported.map((e) => e.message), ['page bug'], 'reported, not thrown into the client');
	} finally {
		delete globalThis.reportError;
		client.close();
		await helper.close();
	}
});

test('a connection the helper closes with 1008 (origin no longer allowed) fails with ORIGIN_NOT_ALLOWED', skip, async () => {
	const helper = await fakeHelper(() => {}, {
		onConnection: (sock) => {
			sock.close(1008, 'origin not allowed');
			return false;
		},
	});
	try {
		const e = await rejects(cb.connect({ port: helper.port, WebSocket: wsFor(ORIGIN) }), 'ORIGIN_NOT_ALLOWED');
		assert.equal(e.details.closeCode, 1008);
		assert.match(e.message, /origin not allowed/);
	} finally {
		await helper.close();
	}
});

test('host: the names the helper answers to, and no other (not *.localhost)', skip, async () => {
	for (const host of ['sub.localhost', '127.0.0.2', 'portal.example', 'localhost.'])
		assert.throws(() => new cb.CardbridgeClient({ host }), TypeError, host);
	assert.equal(new cb.CardbridgeClient({ host: '::1', port: 1 }).url, 'ws://[::1]:1/');
	assert.equal(new cb.CardbridgeClient({ host: 'LocalHost', port: 1 }).url, 'ws://localhost:1/');
	assert.throws(() => new cb.CardbridgeClient({ httpProbe: 'sometimes' }), TypeError);
});

test('the helper restarts: a subscribed client reconnects by itself, subscribes again and refreshes the tokens', skip, async () => {
	const port = await H.freePort();
	let d2 = await H.startDaemon({ origins: [ORIGIN], env: hsm.env, port });
	const statuses = [];
	const client = await cb.connect({ port, WebSocket: wsFor(ORIGIN), onStatus: (s) => statuses.push(s) });
	try {
		await client.subscribe();
		const closed = new Promise((resolve) => client.once('close', resolve));
		await d2.stop();
		const info = await closed;
		assert.equal(info.byUser, false);
		assert.equal(info.code, 1001, 'the stopping helper says it goes away');
		// Down for a while: the client keeps trying, with growing delays, and says why.
		await H.waitFor(() => statuses.filter((s) => s.state === 'reconnecting').length >= 3,
			{ timeout: 10000, what: 'three reconnection attempts' });
		const waits = statuses.filter((s) => s.state === 'reconnecting');
		assert.equal(waits[0].error, null, 'the first wait follows the drop');
		assert.equal(waits[1].error.reason, 'NOT_RUNNING');
		assert.ok(waits[2].delayMs > waits[1].delayMs, `backoff grows: ${waits.map((s) => s.delayMs)}`);
		const refreshed = new Promise((resolve) => client.once('tokensChanged', resolve));
		d2 = await H.startDaemon({ origins: [ORIGIN], env: hsm.env, port });
		const ev = await refreshed;
		assert.equal(ev.reconnected, true);
		assert.ok(ev.tokens.some((t) => t.label === 'cardbridge demo'), 'the current tokens');
		assert.equal(client.connected, true);
		assert.match(d2.readLog(), /events\.subscribe/, 'subscribed again on the new connection');
	} finally {
		client.close();
		await d2.stop();
	}
});

test('cancelRequests tells the helper (the dialog closes), fails the request with ABORTED, and the client goes on', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins('hang');
		const pending = client.generateKeyPair({ token: t.uri, algorithm: { type: 'EC', curve: 'P-256' } });
		const logged = daemon.readLog().length;
		const since = () => daemon.readLog().slice(logged);
		const id = (await H.waitFor(() => since().match(/request (\d+) keys\.generate\n/),
			{ what: 'the helper to start keys.generate' }))[1];
		assert.equal(client.cancelRequests(), 1);
		const e = await rejects(pending, 'ABORTED');
		assert.equal(e.details.helperTold, true);
		assert.equal(client.cancelRequests(), 0, 'nothing left to cancel');
		const done = await H.waitFor(() => since().match(new RegExp(`request ${id} keys\\.generate: (.*)`)),
			{ what: 'the helper to end the cancelled request' });
		assert.match(done[1], /cancel/i, 'the helper ended it as cancelled');
		answerPins(`pin ${H.PIN}`);
		const tokens = await client.listTokens();
		assert.ok(tokens.length >= 1, 'the next call reconnects');
	} finally {
		client.close();
	}
});

test('end to end: progress from the real helper, once it sends any', skip, async (t) => {
	const client = await cb.connect(opts());
	try {
		const tok = await firstToken(client);
		answerPins(`pin ${H.PIN}`);
		const seen = [];
		let answeredAt = null;
		const r = await client.generateKeyPair({ token: tok.uri, algorithm: { type: 'EC', curve: 'P-256' }, label: 'progress e2e' },
			{ onProgress: (p) => seen.push({ ...p, answered: answeredAt !== null }) });
		answeredAt = Date.now();
		assert.match(r.keyId, /^[0-9a-f]+$/);
		if (seen.length === 0) {
			t.skip('cardbridged sends no progress notifications yet (doc/PROTOCOL.md "Progress")');
			return;
		}
		const order = seen.map((p) => cb.PROGRESS_STAGES.indexOf(p.stage));
		assert.ok(order.every((i) => i >= 0), `known stages: ${seen.map((p) => p.stage)}`);
		assert.ok(seen.some((p) => p.stage === 'waitingForPin' && p.pin === 'user'));
		for (let i = 1; i < seen.length; i++)
			assert.ok(seen[i].elapsedMs >= seen[i - 1].elapsedMs, 'elapsedMs never goes back');
		assert.ok(seen.every((p) => !p.answered && p.method === 'keys.generate'));
	} finally {
		client.close();
	}
});

// --- how a failure is explained, per browser (the page's globals faked; the browser tiers check the real ones) ---

const UA = {
	chromium: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
	gecko: 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0',
};

/** Pretend to be a page on https://portal.example in `engine`; returns {fetches, restore}. */
function fakePage(engine, { permission = 'prompt', fetchAnswers = false } = {}) {
	const saved = {};
	const fetches = [];
	const set = (name, value) => {
		saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
		Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
	};
	const doc = new EventTarget();
	doc.visibilityState = 'visible';
	set('document', doc);
	set('location', { hostname: 'portal.example', origin: 'https://portal.example' });
	set('navigator', {
		userAgent: UA[engine],
		userAgentData: engine === 'chromium' ? { brands: [{ brand: 'Chromium', version: '156' }] } : undefined,
		permissions: { query: async ({ name }) => {
			if (name !== 'loopback-network')
				throw new TypeError('unknown permission');
			return { state: permission };
		} },
	});
	set('fetch', async (url) => {
		fetches.push(url);
		if (fetchAnswers === 'csp') {
			setTimeout(() => violation(url), 2);
			throw new TypeError('Failed to fetch');
		}
		if (!fetchAnswers)
			throw new TypeError('Failed to fetch');
		return {};
	});
	return {
		fetches,
		restore() {
			for (const [name, d] of Object.entries(saved))
				if (d)
					Object.defineProperty(globalThis, name, d);
				else
					delete globalThis[name];
		},
	};
}

function violation(blockedURI) {
	globalThis.document.dispatchEvent(Object.assign(new Event('securitypolicyviolation'), { blockedURI }));
}

/** A WebSocket that fails like a browser's: error, then (unless told not to) close 1006. */
function failingSocket({ afterMs = 1, close = true, cspBlocked = false } = {}) {
	return class {
		constructor(url) {
			this.readyState = 0;
			setTimeout(() => {
				this.readyState = 3;
				this.onerror?.({});
				if (cspBlocked)
					setTimeout(() => violation(url), 2);	// Chromium: the event comes after the error
				if (close)
					this.onclose?.({ code: 1006, reason: '' });
			}, afterMs);
		}

		close() {}
	};
}

test('Firefox, nothing listening: NOT_RUNNING at once, no timing guess, no HTTP probe (it would make Firefox ask)', skip, async () => {
	const page = fakePage('gecko');
	try {
		const port = await H.freePort();
		const e = await rejects(cb.connect({ port, WebSocket: failingSocket({ afterMs: 15 }) }), 'NOT_RUNNING');
		assert.equal(e.details.engine, 'gecko');
		assert.equal(e.details.permission, 'prompt', 'what Firefox 153 answers for loopback-network');
		assert.equal(e.details.evidence, 'refused-unprobed');
		assert.equal(e.details.helperAnswersHttp, null);
		assert.deepEqual(page.fetches, [], 'no probe');
		assert.match(e.message, /refused this page/);
	} finally {
		page.restore();
	}
});

test('Firefox, nothing listening, launch: cardbridge://start is opened', skip, async () => {
	const page = fakePage('gecko');
	try {
		const launched = [];
		const e = await rejects(cb.connect({ port: await H.freePort(), launch: true, launchTimeout: 1200,
			WebSocket: failingSocket({ afterMs: 15 }), launcher: (u) => launched.push(u) }), 'NOT_RUNNING');
		assert.deepEqual(launched, ['cardbridge://start']);
		assert.equal(e.details.launched, true);
		assert.match(e.message, /did not answer within 1 s .* or it runs and refuses this page/);
		assert.deepEqual(page.fetches, []);
	} finally {
		page.restore();
	}
});

test('Firefox with httpProbe "always" (its SkipDomains policy lists the portal): the probe tells ORIGIN_NOT_ALLOWED', skip, async () => {
	const page = fakePage('gecko', { fetchAnswers: true });
	try {
		const port = await H.freePort();
		const e = await rejects(cb.connect({ port, httpProbe: 'always', WebSocket: failingSocket() }), 'ORIGIN_NOT_ALLOWED');
		assert.equal(e.details.evidence, 'http-probe');
		assert.deepEqual(page.fetches, [`http://127.0.0.1:${port}/`]);
	} finally {
		page.restore();
	}
});

test('Chromium, permission "prompt": a late failure is the local network access denial, a fast one a closed port', skip, async () => {
	const page = fakePage('chromium');
	try {
		const slow = await rejects(cb.connect({ port: 1, WebSocket: failingSocket({ afterMs: 20 }) }), 'LOCAL_NETWORK_ACCESS_DENIED');
		assert.equal(slow.details.evidence, 'timing');
		const fast = await rejects(cb.connect({ port: 1, WebSocket: failingSocket({ afterMs: 0 }) }), 'NOT_RUNNING');
		assert.equal(fast.details.evidence, 'refused-fast');
		assert.deepEqual(page.fetches, [], 'no probe while Chromium would ask');
	} finally {
		page.restore();
	}
});

test('Chromium, permission granted: the HTTP probe tells a refusing helper from none', skip, async () => {
	let page = fakePage('chromium', { permission: 'granted', fetchAnswers: true });
	try {
		const e = await rejects(cb.connect({ port: 1, WebSocket: failingSocket() }), 'ORIGIN_NOT_ALLOWED');
		assert.equal(e.details.helperAnswersHttp, true);
	} finally {
		page.restore();
	}
	page = fakePage('chromium', { permission: 'granted' });
	try {
		const e = await rejects(cb.connect({ port: 1, WebSocket: failingSocket() }), 'NOT_RUNNING');
		assert.equal(e.details.evidence, 'refused');
		assert.equal(e.details.helperAnswersHttp, false);
	} finally {
		page.restore();
	}
});

test('the page\'s CSP blocks the helper: BLOCKED_BY_CSP, named, in each engine\'s way', skip, async () => {
	let page = fakePage('chromium', { permission: 'granted' });
	try {
		// Chromium: error, no close event, a violation a moment later.
		const e = await rejects(cb.connect({ port: 48801, WebSocket: failingSocket({ close: false, cspBlocked: true }) }), 'BLOCKED_BY_CSP');
		assert.equal(e.details.blockedUrl, 'ws://127.0.0.1:48801/');
		assert.match(e.message, /Content-Security-Policy blocks ws:\/\/127\.0\.0\.1:48801: add it to connect-src/);
	} finally {
		page.restore();
	}
	page = fakePage('gecko');
	try {
		// Firefox: the constructor throws NS_ERROR_CONTENT_BLOCKED.
		const Thrower = class {
			constructor() {
				throw Object.assign(new Error(''), { name: 'NS_ERROR_CONTENT_BLOCKED', result: 0x805e0006 });
			}
		};
		const e = await rejects(cb.connect({ port: 48801, WebSocket: Thrower }), 'BLOCKED_BY_CSP');
		assert.equal(e.details.evidence, 'csp');
	} finally {
		page.restore();
	}
	page = fakePage('chromium', { permission: 'granted', fetchAnswers: 'csp' });
	try {
		// ws:// allowed, http:// not: the probe cannot tell; say why instead of "not running".
		const e = await rejects(cb.connect({ port: 48801, WebSocket: failingSocket() }), 'BLOCKED_BY_CSP');
		assert.equal(e.details.blockedUrl, 'http://127.0.0.1:48801/');
		assert.match(e.message, /and http:\/\/ to tell/);
	} finally {
		page.restore();
	}
});

test('Firefox\'s reconnect delay: the client counts it as Firefox does, and only in Firefox', skip, async () => {
	const { ReconnectHold } = await import(new URL('../../clients/js/browser.js', import.meta.url).href);
	const ff = new ReconnectHold('gecko');
	assert.equal(ff.holdMs(0), 0, 'nothing failed yet');
	ff.failed(0, 10, 0);
	assert.equal(ff.holdMs(0), 400, 'first failure: 200-400 ms, counted at the top');
	assert.equal(ff.holdMs(300), 100);
	ff.failed(0, 10, 1000);
	assert.equal(ff.holdMs(1000), 600, '1.5 times more');
	for (let i = 0; i < 20; i++)
		ff.failed(0, 10, 2000);
	assert.equal(ff.holdMs(2000), 60000, 'at most a minute');
	assert.equal(ff.holdMs(2000 + 60000 + 60000), 0, 'forgotten a minute after the delay ran out');
	ff.failed(0, 10, 200000);
	ff.succeeded();
	assert.equal(ff.holdMs(200000), 0, 'a success clears it');
	const chromium = new ReconnectHold('chromium');
	chromium.failed(0, 10, 0);
	assert.equal(chromium.holdMs(0), 0);
	const off = new ReconnectHold('gecko');
	off.failed(0, 10, 0);
	off.failed(0, 10, 500);
	off.failed(600, 12, 1200);	// predicted 600 ms, came back in 12: this browser does not delay
	assert.equal(off.holdMs(1200), 0);
});
