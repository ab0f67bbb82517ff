// Demo Trust Center: the certificate-activation wizard, on the cardbridge
// client library only (served at ./lib/ from clients/js/).
//
// One client for the page's life: it reconnects by itself when cardbridge
// restarts, and the page says so on every step (the banner) instead of
// going quiet.  The activation (key ID, CSR, certificate) is kept in the
// tab's session storage (flow.js), so a reload resumes it.
import { CardbridgeClient, CardbridgeError, browserEngine, localNetworkPermission } from './lib/cardbridge.js';
import { $, el, showStep, setStatus, clockText, busy, download, nameCell, shortName, isCA } from './dom.js';
import { loadFlow, saveFlow, clearFlow } from './flow.js';
import {
	browserWords, stageWords, cancelOutcome, CANCEL_HINT, pinBadge, explain, capitalise,
} from './words.js';

const engine = browserEngine();

const state = {
	helperPort: 48801,
	client: null,
	connected: false,
	tokens: [],
	token: null,		// uri of the chosen token
	keygen: null,		// {keyId, csr, label, algorithm, subject}
	issued: null,		// {certificate, chain, summary}
	installed: null,
	resume: null,		// a saved activation waiting for its card
	lost: false,		// the connection dropped (not by a cancel): the banner says so
	countdown: null,	// the pill's "reconnecting in N s" timer
};

const step = () => document.body.dataset.step;

// --- the helper's connection, said on every step ----------------------------------------

function setPill(kind, text) {
	const pill = $('#helper-pill');
	pill.dataset.state = kind;
	$('#helper-pill-text').textContent = text;
}

/** "... in N s", counting down until `at`. */
function countdown(prefix, ms) {
	clearInterval(state.countdown);
	const at = Date.now() + ms;
	const tick = () => {
		const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
		setPill('connecting', left > 0 ? `${prefix} in ${left} s` : `${prefix}…`);
		if (left === 0)
			clearInterval(state.countdown);
	};
	tick();
	state.countdown = setInterval(tick, 1000);
}

const LOST = { kind: 'waiting', title: 'The connection to cardbridge was lost', text: 'Reconnecting…' };

/** The banner over every step but the first, while cardbridge is away. */
function setBanner(s) {
	const banner = $('#helper-banner');
	setStatus(banner, step() === 'connect' ? null : s);
}

function startActions() {
	return [
		{ label: 'Try again', id: 'banner-retry', primary: true, onClick: () => reconnectNow({ launch: false }) },
		{ label: 'Start cardbridge', id: 'banner-start', onClick: () => reconnectNow({ launch: true }) },
	];
}

function onHelperStatus(s) {
	switch (s.state) {
	case 'connected':
		clearInterval(state.countdown);
		state.connected = true;
		state.lost = false;
		setPill('connected', 'Card helper connected');
		// Before the user allowed this page, hello names no version.
		$('#helper-version').textContent = `cardbridge ${s.helper.version ?? ''}`.trim();
		setBanner(null);
		renderTokens();
		renderCardState();
		break;
	case 'disconnected':
		state.connected = false;
		renderTokens();
		renderCardState();
		if (!s.byUser && s.reason !== 'cancelled') {
			state.lost = true;
			setPill('connecting', 'Card helper disconnected');
			setBanner(LOST);
		}
		break;
	case 'reconnecting': {
		countdown('Reconnecting', s.delayMs);
		const why = s.error ? explain(s.error, engine) : null;
		if (!why) {
			setBanner(state.lost ? LOST : null);
			break;
		}
		setBanner({
			...why, kind: 'warning',
			title: s.error.reason === 'NOT_RUNNING' ? 'cardbridge stopped' : why.title,
			text: (s.error.reason === 'NOT_RUNNING'
				? 'This page reconnects by itself when cardbridge is back. If it does not come back, start it.'
				: why.text) + ` Next try in ${Math.ceil(s.delayMs / 1000)} s.`,
			actions: startActions(),
		});
		break;
	}
	case 'browser-delay':
		if (s.delayMs >= 1000)
			countdown(engine === 'gecko' ? 'Firefox waits to reconnect' : 'The browser waits to reconnect', s.delayMs);
		break;
	case 'connecting':
		if (!state.connected)
			setPill('connecting', 'Connecting…');
		break;
	default:
		break;
	}
}

/** Make the page's one client (once), and listen to it. */
function ensureClient(onStatus) {
	if (!state.client) {
		state.client = new CardbridgeClient({ port: state.helperPort, onStatus: (s) => {
			onHelperStatus(s);
			state.onConnectStatus?.(s);
		} });
		const refresh = (ev) => {
			if (Array.isArray(ev?.tokens))
				setTokens(ev.tokens, ev.waitingCards);
			else
				loadTokens().catch(() => {});
		};
		state.client.on('tokensChanged', refresh);
		state.client.on('cardInserted', refresh);
		state.client.on('cardRemoved', refresh);
	}
	state.onConnectStatus = onStatus;
	return state.client;
}

/** "Try again" / "Start cardbridge" from the banner: a click, so launching is allowed. */
async function reconnectNow({ launch }) {
	try {
		await state.client.open({ launch });
	} catch (err) {
		// The background reconnection goes on; the banner says why.
		console.warn('cardbridge:', err.reason, err.message, err.details);
	}
}

// --- step 1: connect ---------------------------------------------------------------------

async function doConnect({ launch }) {
	const box = $('#connect-status');
	const button = $('#connect');
	busy(button, true);
	setPill('connecting', 'Connecting…');
	setStatus(box, { kind: 'waiting', title: 'Connecting to cardbridge…' });
	const b = browserWords(engine);
	const client = ensureClient((s) => {
		if (s.state === 'permission-prompt' && b.connect)
			setStatus(box, { kind: 'waiting', title: 'Your browser is asking for permission', text: `It asks ${b.connect}.` });
		else if (s.state === 'launching')
			setStatus(box, { kind: 'waiting', title: 'Starting cardbridge…', text: `If ${b.name} asks ${b.launch}.` });
		else if (s.state === 'browser-delay' && s.delayMs >= 1000)
			setStatus(box, { kind: 'waiting', title: 'Connecting to cardbridge…', text: `${capitalise(b.name)} waits ` +
				`${Math.ceil(s.delayMs / 1000)} s before it tries an address that failed again.` });
	});
	try {
		await client.open({ launch });
		state.onConnectStatus = null;
		setStatus(box, null);
		await afterConnect();
	} catch (err) {
		state.onConnectStatus = null;
		const ex = explain(err, engine);
		setPill('problem', ex.reason === 'LOCAL_NETWORK_ACCESS_DENIED' ? 'Blocked by the browser' : 'Card helper not available');
		if (ex.reason === 'NOT_RUNNING')
			ex.actions = [{ label: 'Start cardbridge (cardbridge:// link)', href: 'cardbridge://start', id: 'status-start', onClick: waitForStart }];
		setStatus(box, ex);
		button.textContent = 'Try again';
		console.warn('cardbridge:', err.reason, err.message, err.details);
	} finally {
		busy(button, false);
	}
}

/**
 * The user clicked a cardbridge://start link: the browser opens it (asking
 * first, unless a policy allows it); connect as soon as the helper is up.
 */
async function waitForStart() {
	const box = $('#connect-status');
	const b = browserWords(engine);
	setStatus(box, { kind: 'waiting', title: 'Starting cardbridge…', text: `If ${b.name} asks ${b.launch}.` });
	const client = ensureClient(null);
	for (const until = Date.now() + 20000; Date.now() < until;) {
		await new Promise((r) => setTimeout(r, 1000));
		try {
			await client.open({ launch: false });
			setStatus(box, null);
			await afterConnect();
			return;
		} catch {
			// not up yet
		}
	}
	doConnect({ launch: false });	// says why, with Try again
}

async function afterConnect() {
	await state.client.subscribe().catch((e) => console.warn('cardbridge: no card events:', e.message));
	await loadTokens();
	if (state.resume)
		await resumeFlow();
	else if (step() === 'connect')
		showStep('token');
}

// --- step 2: tokens ---------------------------------------------------------------------------

async function loadTokens() {
	const tokens = await state.client.listTokens();
	setTokens(tokens, tokens.waitingCards);
}

/* waiting: the cards whose PKCS#11 module cannot serve them (module by ATR). */
function setTokens(tokens, waiting) {
	state.tokens = tokens;
	state.waitingCards = waiting || [];
	const here = step();
	if (state.token && !tokens.some((t) => t.uri === state.token) && !['connect', 'token', 'done'].includes(here)) {
		// The chosen card went away in the middle of the wizard.
		const box = $(`#${here}-status`);
		if (box)
			setStatus(box, { kind: 'error', reason: 'CARD_REMOVED', title: 'Your card was removed', text: 'Insert it again to continue.' });
	}
	if (!state.token || !tokens.some((t) => t.uri === state.token)) {
		const first = tokens.find((t) => pinBadge(t.flags).usable);
		if (here === 'token' || here === 'connect' || !here)
			state.token = state.resume?.token ?? (first ? first.uri : null);
	}
	if (state.resume && tokens.some((t) => t.uri === state.resume.token) && here === 'token')
		resumeFlow();
	renderTokens();
	renderCardState();
}

function renderTokens() {
	const list = $('#token-list');
	list.replaceChildren();
	if (!state.connected && state.client) {
		list.append(el('div', { class: 'empty', id: 'no-helper' },
			el('strong', {}, 'Waiting for cardbridge'), el('br'),
			'Your cards show here again as soon as cardbridge is back.'));
	} else if (state.tokens.length === 0) {
		list.append(el('div', { class: 'empty', id: 'no-token' },
			el('strong', {}, 'No card found'), el('br'),
			'Insert your card into the reader. This list updates by itself.'));
	}
	for (const t of state.connected ? state.tokens : []) {
		const st = pinBadge(t.flags);
		const id = `tok-${t.serial || t.label}`.replace(/[^A-Za-z0-9_-]/g, '_');
		const selected = t.uri === state.token;
		const input = el('input', { type: 'radio', name: 'token', value: t.uri, id, checked: selected, disabled: !st.usable });
		input.addEventListener('change', () => {
			state.token = t.uri;
			renderTokens();
			renderCardState();
		});
		list.append(el('label', { class: `token${selected ? ' selected' : ''}${st.usable ? '' : ' disabled'}`, for: id, dataset: { label: t.label } },
			input,
			el('span', { class: 'card-icon', 'aria-hidden': 'true' }),
			el('span', { class: 'token-text' },
				el('div', { class: 'name' }, t.label || 'Unnamed card'),
				el('div', { class: 'meta' }, [t.manufacturer, t.model].filter(Boolean).join(' · ') + (t.serial ? ` · serial ${t.serial}` : ''))),
			el('span', { class: `badge ${st.cls}`, title: st.title }, st.text)));
	}
	for (const w of state.connected ? state.waitingCards || [] : [])
		list.append(el('div', { class: 'empty waiting-card' },
			el('strong', {}, `The card in ${w.reader} cannot be used`), el('br'),
			`It needs the module ${w.module}: ${w.error}. Ask your IT department.`));
	const chosen = currentToken();
	$('#token-continue').disabled = !state.connected || !chosen || !pinBadge(chosen.flags).usable;
}

function currentToken() {
	return state.tokens.find((t) => t.uri === state.token) || null;
}

async function renderCardState() {
	const box = $('#card-state');
	const body = $('#card-state-body');
	const t = currentToken();
	if (!state.client || !state.connected) {
		box.dataset.state = 'unknown';
		body.replaceChildren(state.client ? 'Waiting for cardbridge…' : 'Connect to see your card.');
		return;
	}
	if (!t) {
		box.dataset.state = state.token ? 'removed' : 'none';
		body.replaceChildren(el('div', { class: 'line' }, el('span', { class: 'dot' }),
			el('span', { class: 'big' }, state.token ? 'Card removed' : 'No card chosen')),
		el('p', { class: 'muted small' }, state.token ? 'Insert it again to continue.' : 'Insert a card and choose it.'));
		return;
	}
	const st = pinBadge(t.flags);
	box.dataset.state = 'present';
	body.replaceChildren(
		el('div', { class: 'line' }, el('span', { class: 'dot' }), el('span', { class: 'big', id: 'card-state-label' }, t.label)),
		el('dl', {},
			el('dt', {}, 'Device'), el('dd', {}, t.model || '—'),
			el('dt', {}, 'Serial'), el('dd', {}, t.serial || '—'),
			el('dt', {}, 'PIN'), el('dd', {}, el('span', { class: `badge ${st.cls}`, id: 'card-state-pin', title: st.title }, st.text)),
			el('dt', {}, 'Certificates'), el('dd', { id: 'card-cert-count' }, '…')));
	try {
		const certs = await state.client.listCertificates({ token: t.uri });
		const cell = $('#card-cert-count');
		if (cell)
			cell.textContent = certs.length === 0 ? 'none yet' : String(certs.length);
	} catch {
		const cell = $('#card-cert-count');
		if (cell)
			cell.textContent = '—';
	}
}

// --- a request to the card, said as it goes --------------------------------------------------

/**
 * Run fn(onProgress) with a status box that shows the stage in words, a
 * running clock and Cancel.  Resolves with fn's result; on failure shows
 * why (and, for a cancel, what it left on the card) and rethrows.
 */
async function withProgress(box, method, fn) {
	const t = currentToken();
	const started = Date.now();
	let last = null;
	const render = () => {
		const w = stageWords(method, last, t?.label);
		setStatus(box, { kind: 'waiting', ...w, clock: true, hint: CANCEL_HINT,
			actions: [{ label: 'Cancel', id: 'cancel-request', onClick: () => state.client.cancelRequests() }] });
		box.dataset.stage = last?.stage ?? 'sent';
		tick();
	};
	const tick = () => {
		const c = box.querySelector('.clock');
		if (c)
			c.textContent = ` ${clockText(Date.now() - started)}`;
	};
	render();
	const timer = setInterval(tick, 1000);
	try {
		return await fn((p) => {
			last = p;
			render();
		});
	} catch (err) {
		const ex = explain(err, engine);
		if (err instanceof CardbridgeError && err.reason === 'ABORTED')
			ex.text = cancelOutcome(method, last?.stage ?? null);
		setStatus(box, ex);
		throw err;
	} finally {
		clearInterval(timer);
		delete box.dataset.stage;
		// A wrong PIN changes the card's PIN state: show it.
		loadTokens().catch(() => {});
	}
}

// --- step 3: key pair -----------------------------------------------------------------------

function algorithmChoices(token) {
	const out = [];
	for (const kt of token?.keyTypes || []) {
		if (kt.type === 'RSA')
			for (const bits of kt.bits || [])
				out.push({ value: `RSA-${bits}`, algorithm: { type: 'RSA', bits }, label: `RSA ${bits} bit${bits === 2048 ? ' (recommended)' : ''}` });
		else if (kt.type === 'EC')
			for (const curve of kt.curves || [])
				out.push({ value: `EC-${curve}`, algorithm: { type: 'EC', curve }, label: `Elliptic curve ${curve}` });
	}
	return out;
}

function prepareGenerate() {
	const t = currentToken();
	const sel = $('#algorithm');
	const choices = algorithmChoices(t);
	sel.replaceChildren(...choices.map((c) => el('option', { value: c.value }, c.label)));
	sel.value = choices.some((c) => c.value === 'RSA-2048') ? 'RSA-2048' : (choices[0]?.value ?? '');
	sel.disabled = choices.length === 0;
	$('#generate').disabled = choices.length === 0;
	setStatus($('#generate-status'), choices.length ? null : {
		kind: 'error', title: 'This card cannot create key pairs', text: 'Choose another card.',
	});
	$('#generate-form').hidden = false;
	$('#generate-result').hidden = true;
	showStep('generate');
}

async function doGenerate(ev) {
	ev.preventDefault();
	const form = $('#generate-form');
	if (!form.reportValidity())
		return;
	const t = currentToken();
	const box = $('#generate-status');
	if (!t) {
		setStatus(box, explain(new CardbridgeError('TOKEN_NOT_PRESENT', 'no card'), engine));
		return;
	}
	const choice = algorithmChoices(t).find((c) => c.value === $('#algorithm').value);
	const subject = {};
	for (const name of ['CN', 'emailAddress', 'O', 'C']) {
		const v = form.elements[name].value.trim();
		if (v)
			subject[name] = name === 'C' ? v.toUpperCase() : v;
	}
	const label = `${subject.CN} ${new Date().getFullYear()}`.slice(0, 64);
	const button = $('#generate');
	busy(button, true);
	try {
		const r = await withProgress(box, 'keys.generate', (onProgress) => state.client.generateKeyPair({
			token: t.uri, algorithm: choice.algorithm, label, subject,
		}, { onProgress }));
		state.keygen = { keyId: r.keyId, csr: r.csr, label, algorithm: choice.label.replace(/ \(.*\)$/, ''), subject };
		saveFlow({ token: t.uri, tokenLabel: t.label, keygen: state.keygen });
		setStatus(box, null);
		showKeygen(false);
		renderCardState();
	} catch {
		// withProgress said why
	} finally {
		busy(button, false);
	}
}

/** The new key pair in people's words; its ID only in the details. */
function showKeygen(restored) {
	const k = state.keygen;
	const t = currentToken();
	$('#key-facts').replaceChildren(
		el('dt', {}, 'Name'), el('dd', { id: 'key-label' }, k.label),
		el('dt', {}, 'Key type'), el('dd', {}, k.algorithm),
		el('dt', {}, 'For'), el('dd', {}, [k.subject?.CN, k.subject?.emailAddress].filter(Boolean).join(' · ') || '—'));
	$('#key-id').textContent = k.keyId;
	$('#key-token').textContent = t ? `${t.label} (serial ${t.serial})` : state.resume?.tokenLabel ?? '';
	$('#key-restored').hidden = !restored;
	$('#csr').value = k.csr;
	$('#generate-form').hidden = true;
	$('#generate-result').hidden = false;
}

// --- step 4: demo CA ----------------------------------------------------------------------

function prepareCA() {
	setStatus($('#ca-status'), null);
	$('#ca-actions').hidden = false;
	$('#ca-result').hidden = true;
	showStep('ca');
}

async function doSign() {
	const box = $('#ca-status');
	const button = $('#sign');
	busy(button, true);
	setStatus(box, { kind: 'waiting', title: 'The demo CA is signing your request…' });
	try {
		const r = await fetch('ca/sign', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ csr: state.keygen.csr }),
		});
		const body = await r.json().catch(() => ({}));
		if (!r.ok)
			throw new Error(body.error || `the demo CA answered ${r.status}`);
		state.issued = body;
		saveFlow({ token: state.token, tokenLabel: currentToken()?.label, keygen: state.keygen, issued: body });
		setStatus(box, null);
		showIssued();
	} catch (err) {
		setStatus(box, {
			kind: 'error', title: 'The demo CA could not issue the certificate',
			text: capitalise(err.message || String(err)) + '.',
		});
	} finally {
		busy(button, false);
	}
}

function showIssued() {
	const s = state.issued.summary;
	const fmt = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
	$('#cert-summary').replaceChildren(
		el('dt', {}, 'Issued to'), el('dd', { id: 'cert-subject', title: s.subject }, [...nameCell(s.subject).childNodes]),
		el('dt', {}, 'Issued by'), el('dd', { title: s.issuer }, shortName(s.issuer)),
		el('dt', {}, 'Serial number'), el('dd', {}, el('code', {}, s.serial)),
		el('dt', {}, 'Valid'), el('dd', {}, `${fmt(s.notBefore)} – ${fmt(s.notAfter)}`));
	$('#ca-actions').hidden = true;
	$('#ca-result').hidden = false;
}

// --- step 5: install --------------------------------------------------------------------

function prepareInstall() {
	setStatus($('#install-status'), null);
	$('#install-actions').hidden = false;
	$('#install-result').hidden = true;
	showStep('install');
}

async function doInstall() {
	const t = currentToken();
	const box = $('#install-status');
	const button = $('#install');
	busy(button, true);
	try {
		const r = await withProgress(box, 'certificates.install', (onProgress) => state.client.installCertificate({
			certificate: state.issued.certificate,
			chain: state.issued.chain,
			token: state.token,
		}, { onProgress }));
		state.installed = r;
		saveFlow({ token: state.token, tokenLabel: t?.label, keygen: state.keygen, issued: state.issued, installed: true });
		setStatus(box, null);
		const rows = [
			...r.installed.map((c) => ({ ...c, what: 'Stored', ok: true })),
			...r.alreadyPresent.map((c) => ({ ...c, what: 'Already on the card', ok: true })),
			...r.notStored.map((c) => ({ subject: c.subject, issuer: '', what: `Not stored: ${c.reason}`, ok: false })),
		];
		$('#installed-table tbody').replaceChildren(...rows.map((c) => el('tr', { class: c.ok && !isCA(c) ? 'new' : '' },
			nameCell(c.subject, el('span', { class: 'role' }, isCA(c) ? 'CA certificate' : 'Your certificate')),
			el('td', {}, shortName(c.issuer)),
			el('td', { class: c.ok ? 'result-ok' : '' }, c.what))));
		$('#install-token').textContent = `on ${t ? t.label : 'your card'}, next to the key "${state.keygen.label}"`;
		$('#install-key-id').textContent = r.keyId;
		$('#install-actions').hidden = true;
		$('#install-result').hidden = false;
		renderCardState();
	} catch (err) {
		if (err?.reason === 'KEY_NOT_FOUND')
			setStatus(box, { ...explain(err, engine), actions: [{ label: 'Start again', id: 'start-again', onClick: restart }] });
	} finally {
		busy(button, false);
	}
}

// --- step 6: done -------------------------------------------------------------------------

async function showDone() {
	const t = currentToken();
	$('#done-token').textContent = t ? t.label : 'your card';
	const tbody = $('#cards-certs tbody');
	tbody.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted' }, 'Reading your card…')));
	showStep('done');
	try {
		const certs = await state.client.listCertificates({ token: state.token });
		const fmt = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
		tbody.replaceChildren(...certs.map((c) => el('tr', { class: c.keyId === state.keygen?.keyId ? 'new' : '' },
			nameCell(c.subject, el('span', { class: 'role' }, isCA(c) ? 'CA certificate' : c.keyId === state.keygen?.keyId ? 'New' : 'Your certificate')),
			el('td', {}, shortName(c.issuer)), el('td', {}, fmt(c.notAfter)),
			el('td', {}, c.hasPrivateKey ? 'On the card' : '—'))));
	} catch (err) {
		tbody.replaceChildren(el('tr', {}, el('td', { colspan: '4' }, explain(err, engine).title)));
	}
}

function restart() {
	clearFlow();
	state.keygen = state.issued = state.installed = state.resume = null;
	$('#copy-csr').textContent = 'Copy';
	loadTokens().catch(() => {});
	showStep('token');
}

// --- after a reload: where were we? ----------------------------------------------------------

/**
 * The saved activation, once its card is there: a certificate on the card
 * under the key's ID means it was installed; else the key pair and its CSR
 * (and the certificate, if the CA issued it) pick up where they were.
 * There is no method to list keys without certificates: an install to a
 * card that lost the key fails with KEY_NOT_FOUND, and says so.
 */
async function resumeFlow() {
	const f = state.resume;
	if (!state.tokens.some((t) => t.uri === f.token)) {
		showStep('token');
		setStatus($('#token-status'), { kind: 'info', title: `Insert the card "${f.tokenLabel}"`,
			text: 'Your activation continues on the card you generated the key on.' });
		return;
	}
	state.resume = null;
	state.token = f.token;
	state.keygen = f.keygen;
	state.issued = f.issued ?? null;
	setStatus($('#token-status'), null);
	renderTokens();
	renderCardState();
	const certs = await state.client.listCertificates({ token: f.token }).catch(() => []);
	if (certs.some((c) => c.keyId === f.keygen.keyId)) {
		await showDone();
		return;
	}
	if (state.issued) {
		showIssued();
		prepareInstall();
		return;
	}
	prepareGenerate();
	showKeygen(true);
}

/** Connect at once after a reload, if that makes the browser ask nothing. */
async function offerResume(f) {
	state.resume = f;
	setStatus($('#resume-note'), { kind: 'info', title: 'Continue where you left off',
		text: `You were activating a certificate on "${f.tokenLabel}". Connect to continue: your key pair and request are kept.` });
	$('#connect').textContent = 'Continue';
	const local = ['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname);
	if (local || await localNetworkPermission() === 'granted')
		doConnect({ launch: false });
}

// --- wiring ---------------------------------------------------------------------------------

async function init() {
	try {
		const r = await fetch('config.json', { cache: 'no-store' });
		if (r.ok) {
			const cfg = await r.json();
			if (Number.isInteger(cfg.helperPort))
				state.helperPort = cfg.helperPort;
		}
	} catch {
		// a static copy of the page: the default port
	}
	const b = browserWords(engine);
	$('#browser-hint').textContent = b.connect ? ` Your browser may ask ${b.connect}.` : '';
	$('#connect').addEventListener('click', () => doConnect({ launch: true }));
	$('#start-helper').addEventListener('click', waitForStart);
	$('#token-continue').addEventListener('click', prepareGenerate);
	$('#generate-form').addEventListener('submit', doGenerate);
	$('#ca-continue').addEventListener('click', prepareCA);
	$('#download-csr').addEventListener('click', () => download('request.csr', state.keygen.csr, 'application/pkcs10'));
	$('#copy-csr').addEventListener('click', async () => {
		try {
			await navigator.clipboard.writeText(state.keygen.csr);
			$('#copy-csr').textContent = 'Copied';
		} catch {
			$('#csr').select();
		}
	});
	$('#sign').addEventListener('click', doSign);
	$('#install-continue').addEventListener('click', prepareInstall);
	$('#download-cert').addEventListener('click', () => download('certificate.pem', state.issued.certificate, 'application/x-pem-file'));
	$('#install').addEventListener('click', doInstall);
	$('#done-continue').addEventListener('click', showDone);
	$('#restart').addEventListener('click', restart);
	for (const btn of document.querySelectorAll('[data-back]'))
		btn.addEventListener('click', () => showStep(btn.dataset.back));
	showStep('connect');
	document.body.dataset.engine = engine;
	document.body.dataset.ready = 'true';
	const saved = loadFlow();
	if (saved)
		offerResume(saved);
}

init();
