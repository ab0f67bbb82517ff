// Type declarations for cardbridge.js (the cardbridge browser client).

export const VERSION: string;
export const SUBPROTOCOL: 'cardbridge.v1';
export const DEFAULT_PORT: 48801;
export const LAUNCH_URL: 'cardbridge://start';
export const CARD_EVENTS: readonly CardEventType[];
export const PROTOCOL_REASONS: Readonly<Record<number, ProtocolReason>>;
export const CLIENT_REASONS: Readonly<Record<ClientReason, ClientReason>>;
export const DEFAULT_TIMEOUTS: Readonly<Record<string, number>>;
export const METHODS: readonly MethodName[];
export const PROGRESS_STAGES: readonly ProgressStage[];

/** What a request is doing (doc/PROTOCOL.md, "Progress"), in order. */
export type ProgressStage =
	| 'waitingForDialog' | 'waitingForPin' | 'waitingForPinPad' | 'pinAccepted'
	| 'generatingKey' | 'signingRequest' | 'writingCertificate';

/** A "progress" notification's params. */
export interface Progress {
	id: string | number;
	stage: ProgressStage;
	elapsedMs: number;
	pin?: 'user' | 'admin' | 'puk';
}

/** What onProgress and the 'progress' event get: the params and the request's method. */
export interface ProgressInfo extends Progress {
	method: MethodName | string;
}

/** The methods a page may call (doc/PROTOCOL.md, "Methods"). */
export type MethodName =
	| 'system.hello' | 'tokens.list' | 'keys.generate' | 'certificates.install'
	| 'certificates.list' | 'keys.list' | 'pins.change' | 'pins.unblock' | 'pins.initialize'
	| 'keys.delete' | 'certificates.delete' | 'events.subscribe' | 'events.unsubscribe';

/** Reasons the helper answers with (doc/PROTOCOL.md, "Error reasons"). */
export type ProtocolReason =
	| 'PARSE_ERROR' | 'INVALID_REQUEST' | 'METHOD_NOT_FOUND' | 'INVALID_PARAMS'
	| 'INTERNAL_ERROR' | 'ORIGIN_NOT_ALLOWED' | 'BUSY' | 'TOO_LARGE' | 'USER_CANCELLED'
	| 'PIN_INCORRECT' | 'PIN_LOCKED' | 'TOKEN_NOT_PRESENT' | 'CARD_REMOVED' | 'KEY_NOT_FOUND'
	| 'SLOT_OCCUPIED' | 'UNSUPPORTED_ALGORITHM' | 'TOKEN_WRITE_PROTECTED' | 'MODULE_ERROR'
	| 'TIMEOUT' | 'TOO_DEEP' | 'PIN_INVALID' | 'NOT_SUPPORTED' | 'SERVICE_STOPPED'
	| 'KEY_HAS_CERTIFICATE';

/** Reasons raised by the client library itself (code is null). */
export type ClientReason =
	| 'NOT_RUNNING' | 'LOCAL_NETWORK_ACCESS_DENIED' | 'ORIGIN_NOT_ALLOWED' | 'BLOCKED_BY_CSP'
	| 'CONNECTION_LOST' | 'REQUEST_TIMEOUT' | 'ABORTED' | 'CLOSED' | 'NOT_SUPPORTED'
	| 'PROTOCOL_ERROR';

export type Reason = ProtocolReason | ClientReason;

/** What a failed connection looked like, and how the reason was decided. */
export interface ConnectFailureDetails {
	url: string;
	/** WebSocket close code of the failed attempt (1006 for every refusal). */
	closeCode: number | null;
	/** How long the failed attempt took. */
	elapsedMs: number;
	/** The browser engine (see browserEngine()). */
	engine: Engine;
	/** The page is itself on loopback: no browser permission applies. */
	pageIsLocal: boolean;
	/** The page's local network access permission, as the Permissions API tells. */
	permission: 'granted' | 'denied' | 'prompt' | 'unsupported' | 'not-applicable';
	/** Something answered plain HTTP on the helper's port (it is running); null: not asked, because the browser would have asked the user. */
	helperAnswersHttp: boolean | null;
	/** What decided the reason. */
	evidence: 'permission' | 'http-probe' | 'timing' | 'refused' | 'refused-fast' | 'refused-unprobed'
		| 'constructor' | 'csp' | null;
	/** BLOCKED_BY_CSP: the URL the page's Content-Security-Policy blocked. */
	blockedUrl?: string;
	/** cardbridge://start was opened. */
	launched?: boolean;
	launchError?: string;
}

export class CardbridgeError extends Error {
	name: 'CardbridgeError';
	/** Stable reason: branch on this. */
	reason: Reason;
	/** JSON-RPC error code from the helper, null for the library's own errors. */
	code: number | null;
	/** For PIN_INCORRECT when the token tells: tries left before the PIN locks. */
	retriesLeft: number | null;
	/** certificates.install: the write failed but may have completed (data.maybeStored). */
	maybeStored: boolean;
	/** The protocol method that failed, if any. */
	method: string | null;
	/** For connection failures: how the reason was decided. */
	details: ConnectFailureDetails | { closeCode?: number; closeReason?: string; helperTold?: boolean } | null;
	/** True when the error came from the helper (it has a protocol code). */
	readonly fromHelper: boolean;
	constructor(reason: Reason, message: string, extra?: {
		code?: number | null; retriesLeft?: number | null; maybeStored?: boolean;
		method?: string | null; details?: object | null; cause?: unknown;
	});
	static fromRpc(error: { code: number; message: string;
		data?: { reason?: string; retriesLeft?: number; maybeStored?: boolean } },
		method: string | null): CardbridgeError;
}

/** Which browser engine runs the page. */
export type Engine = 'chromium' | 'gecko' | 'webkit' | 'node' | 'unknown';

export interface ConnectStatus {
	state: 'connecting' | 'permission-prompt' | 'browser-delay' | 'launching' | 'retrying' | 'connected'
		| 'failed' | 'disconnected' | 'reconnecting';
	/** retrying, reconnecting: the attempt's number. */
	attempt?: number;
	/** browser-delay: how long the browser holds this attempt; reconnecting: when the next one starts. */
	delayMs?: number;
	url?: string;
	helper?: HelloResult;
	/** failed: why; reconnecting: why the last attempt failed (null after a drop). */
	error?: CardbridgeError | null;
	code?: number;
	reason?: string;
	byUser?: boolean;
}

export interface ConnectOptions {
	/** Helper port (default 48801). */
	port?: number;
	/** A name the helper answers to: '127.0.0.1' (default), '[::1]' or 'localhost' (not *.localhost). */
	host?: string;
	/** If the helper is not running, open cardbridge://start and wait for it (call from a click). */
	launch?: boolean;
	/** URL opened to start the helper (default cardbridge://start). */
	launchUrl?: string;
	/** How long to wait for the helper after opening launchUrl, ms (default 20000). */
	launchTimeout?: number;
	/** Longest a single connection attempt may take, ms (default 60000: the user may be answering the browser's prompt). */
	connectTimeout?: number;
	/** Timeout of every request, ms (default: per method, see DEFAULT_TIMEOUTS). */
	requestTimeout?: number;
	/** subscribe()'s polling period where the helper has no events.subscribe, ms (default 3000). */
	pollInterval?: number;
	/** A subscribed client reconnects in the background when its connection drops (default true). */
	reconnect?: boolean;
	/** Longest wait between two background reconnection attempts, ms (default 30000; Firefox may hold one up to 60000). */
	maxReconnectDelay?: number;
	/**
	 * The plain-HTTP request that tells "not running" from "refuses this page": 'auto' (default)
	 * sends it only where the browser will not ask the user about it; 'always' also in Firefox,
	 * whose users' policy LocalNetworkAccess SkipDomains lists your portal; 'never'.
	 */
	httpProbe?: 'auto' | 'always' | 'never';
	/** WebSocket constructor (default globalThis.WebSocket; in Node.js 20 pass one, e.g. from 'ws'). */
	WebSocket?: new (url: string, protocol: string) => WebSocket;
	/** Opens launchUrl (default: a click on a hidden link). */
	launcher?: (url: string) => void;
	/** Progress while connecting (also emitted as the 'status' event). */
	onStatus?: (status: ConnectStatus) => void;
}

export interface ModuleInfo {
	path: string; ok: boolean; error: string | null; description?: string; manufacturer?: string;
}

/** Before the user allowed the page (consent pending), only name and protocol. */
export interface HelloResult {
	name: 'cardbridge';
	version?: string;
	protocol: 1;
	methods?: string[];
	modules?: ModuleInfo[];
}

export interface KeyType {
	type: 'RSA' | 'EC' | string;
	bits?: number[];
	curves?: string[];
}

export interface Token {
	uri: string;
	reader: string;
	label: string;
	manufacturer: string;
	model: string;
	serial: string;
	flags: {
		loginRequired: boolean; protectedAuthPath: boolean; pinCountLow: boolean;
		pinFinalTry: boolean; pinLocked: boolean; writeProtected: boolean;
	};
	keyTypes: KeyType[];
	/** What the token tells about its PINs (doc/PROTOCOL.md, "tokens.list"). */
	pins: PinsStatus;
	/** Which card management methods work on this token, and why not. */
	manage: ManageCapabilities;
}

/** One PIN's state, as far as the module tells. */
export interface PinState {
	initialized: boolean;
	state: 'ok' | 'countLow' | 'finalTry' | 'locked' | 'unknown';
	/** null where the module never says. */
	toBeChanged: boolean | null;
}

export interface PinsStatus {
	user: PinState;
	/** null when the token reports nothing about an SO PIN / PUK (OpenSC). */
	so: PinState | null;
	minLength: number | null;
	maxLength: number | null;
}

export interface ManageCapabilities {
	canChangePin: boolean;
	canChangeSoPin: boolean;
	canUnblockPin: boolean;
	canInitializePin: boolean;
	canDeleteObjects: boolean;
	/** What pins.unblock asks for: the PUK, or the SO / admin PIN; null when it cannot. */
	unblockWith: 'puk' | 'so' | null;
	/** For each capability that is false: why, in English. */
	why: Partial<Record<'canChangePin' | 'canChangeSoPin' | 'canUnblockPin' | 'canInitializePin' | 'canDeleteObjects', string>>;
}

/** A card whose PKCS#11 module (chosen by its ATR) cannot serve it. */
export interface WaitingCard {
	reader: string;
	atr: string;
	/** The module's path. */
	module: string;
	/** Why it cannot serve the card ("cannot load: ...", ...). */
	error: string;
}

/** tokens.list's tokens, and the cards left waiting for their module. */
export type TokenList = Token[] & { readonly waitingCards: WaitingCard[] };

export type Algorithm = { type: 'RSA'; bits: 2048 | 3072 | 4096 } | { type: 'EC'; curve: 'P-256' | 'P-384' };

export interface Subject {
	CN?: string; emailAddress?: string; GN?: string; SN?: string; O?: string; OU?: string;
	C?: string; L?: string; ST?: string; serialNumber?: string;
}

export interface GenerateKeyPairParams {
	token: string;
	algorithm: Algorithm;
	label?: string;
	subject?: Subject;
	overwrite?: boolean;
}

/** What the token's module reports about a new private key (doc/PROTOCOL.md, "Key attributes"). */
export interface KeyAttributes {
	sensitive: boolean;
	extractable: boolean;
	local: boolean;
	alwaysSensitive: boolean;
	neverExtractable: boolean;
	/** cardbridge tried to read the secret parts and got them: always false in a result. */
	secretReadable: false;
}

export interface GenerateKeyPairResult {
	/** CKA_ID of the key pair, hex. */
	keyId: string;
	publicKey: string;
	/** PKCS#10, PEM, signed on the token. */
	csr: string;
	keyAttributes: KeyAttributes;
}

export interface ListCertificatesParams {
	token?: string;
}

/** params of keys.list, pins.unblock and pins.initialize: one token. */
export interface TokenParams {
	token: string;
}

export interface ChangePinParams {
	token: string;
	/** 'user' (default) or 'so' (the admin / SO PIN). */
	which?: 'user' | 'so';
}

export interface DeleteKeyParams {
	token: string;
	/** CKA_ID in hex, as listKeys() gives it. */
	keyId: string;
	/** Delete the certificates with that CKA_ID too (default false). */
	withCertificates?: boolean;
}

/** Either keyId, or serial and issuer (as listCertificates() gives them). */
export interface DeleteCertificatesParams {
	token: string;
	keyId?: string;
	serial?: string;
	issuer?: string;
}

/** What pins.change, pins.unblock and pins.initialize answer. */
export interface PinResult {
	token: string;
	pin: 'user' | 'so';
	/** pins.unblock: what unblocked it. */
	with?: 'puk' | 'so';
}

export interface KeyInfo {
	token: string;
	keyId: string | null;
	label: string | null;
	/** "RSA 2048", "EC P-256"; null when the token shows no public part. */
	algorithm: string | null;
	/** Which halves are visible without a login. */
	privateKey: boolean;
	publicKey: boolean;
	/** Certificates with the same CKA_ID. */
	certificates: number;
}

export interface DeletedObject {
	kind: 'privateKey' | 'publicKey' | 'certificate';
	keyId: string | null;
	label: string | null;
	subject?: string;
	issuer?: string;
	serial?: string;
}

export interface DeleteResult {
	token: string;
	deleted: DeletedObject[];
}

/** The params each method takes (doc/PROTOCOL.md). */
export interface MethodParams {
	'system.hello': Record<string, never>;
	'tokens.list': Record<string, never>;
	'keys.generate': GenerateKeyPairParams;
	'certificates.install': InstallCertificateParams;
	'certificates.list': ListCertificatesParams;
	'keys.list': TokenParams;
	'pins.change': ChangePinParams;
	'pins.unblock': TokenParams;
	'pins.initialize': TokenParams;
	'keys.delete': DeleteKeyParams;
	'certificates.delete': DeleteCertificatesParams;
	'events.subscribe': Record<string, never>;
	'events.unsubscribe': Record<string, never>;
}

export interface InstallCertificateParams {
	certificate: string;
	token?: string;
	chain?: string[];
	label?: string;
	allowExpired?: boolean;
	/** Store it next to a certificate the key already has (else KEY_HAS_CERTIFICATE). */
	add?: boolean;
}

export interface CertificateSummary {
	subject: string; issuer: string; serial: string;
	/** CKA_ID the certificate is stored under (the end-entity certificate, next to its key). */
	keyId?: string;
}

export interface InstallCertificateResult {
	token: string;
	keyId: string;
	installed: CertificateSummary[];
	alreadyPresent: CertificateSummary[];
	notStored: { subject: string; reason: string }[];
}

export interface CertificateInfo extends CertificateSummary {
	token: string;
	notBefore: string;
	notAfter: string;
	keyId: string;
	label: string;
	hasPrivateKey: boolean;
}

export type CardEventType = 'readerAdded' | 'readerRemoved' | 'cardInserted' | 'cardRemoved' | 'tokensChanged';

/** An "event" notification's params, as cardbridged sends them. */
export interface CardEventParams {
	type: CardEventType;
	reader?: string;
	/** The card's ATR (hex), where a card is in the reader. */
	atr?: string;
	/** tokensChanged: the new list. */
	tokens?: Token[];
	/** tokensChanged from the helper: the cards waiting for their module, if any. */
	waitingCards?: WaitingCard[];
}

/** What the 'cardEvent' listeners get: the params, or an event the client made. */
export interface CardEvent extends Omit<CardEventParams, 'type'> {
	type: CardEventType | string;
	/** Token URI (synthetic events). */
	token?: string;
	label?: string;
	/** True when made by the client from tokens.list (polling, or after a reconnection). */
	synthetic?: boolean;
	/** tokensChanged after the client reconnected and subscribed again. */
	reconnected?: boolean;
	[key: string]: unknown;
}

export interface RequestOptions {
	/** ms; default per method. */
	timeout?: number;
	/** Stop waiting (the helper is not told: see cancelRequests()). */
	signal?: AbortSignal;
	/** The request's progress stages, as the helper reports them; none after the answer. */
	onProgress?: (progress: ProgressInfo) => void;
}

export interface ClientEvents {
	event: (ev: CardEvent) => void;
	readerAdded: (ev: CardEvent) => void;
	readerRemoved: (ev: CardEvent) => void;
	cardInserted: (ev: CardEvent) => void;
	cardRemoved: (ev: CardEvent) => void;
	tokensChanged: (ev: CardEvent) => void;
	open: (hello: HelloResult) => void;
	close: (info: { code: number; reason: string; byUser: boolean }) => void;
	status: (status: ConnectStatus) => void;
	progress: (progress: ProgressInfo) => void;
	subscriptionError: (err: CardbridgeError) => void;
	protocolError: (err: CardbridgeError) => void;
}

export class CardbridgeClient {
	constructor(options?: ConnectOptions);
	readonly url: string;
	readonly connected: boolean;
	readonly helper: HelloResult | null;
	open(options?: { launch?: boolean }): Promise<HelloResult>;
	call<T = unknown, M extends MethodName = MethodName>(method: M, params?: MethodParams[M], options?: RequestOptions): Promise<T>;
	call<T = unknown>(method: string, params?: object, options?: RequestOptions): Promise<T>;
	hello(options?: RequestOptions): Promise<HelloResult>;
	listTokens(options?: RequestOptions): Promise<TokenList>;
	generateKeyPair(params: GenerateKeyPairParams, options?: RequestOptions): Promise<GenerateKeyPairResult>;
	installCertificate(params: InstallCertificateParams, options?: RequestOptions): Promise<InstallCertificateResult>;
	listCertificates(params?: ListCertificatesParams, options?: RequestOptions): Promise<CertificateInfo[]>;
	/** keys.list: the keys on one token. */
	listKeys(params: TokenParams, options?: RequestOptions): Promise<KeyInfo[]>;
	/** pins.change: the current PIN, then the new one twice, in the helper's dialogs. */
	changePin(params: ChangePinParams, options?: RequestOptions): Promise<PinResult>;
	/** pins.unblock: the PUK or SO / admin PIN (manage.unblockWith), then the new PIN twice. */
	unblockPin(params: TokenParams, options?: RequestOptions): Promise<PinResult>;
	/** pins.initialize: the SO PIN, then the first user PIN twice. */
	initializePin(params: TokenParams, options?: RequestOptions): Promise<PinResult>;
	/** keys.delete: after a confirmation dialog and the PIN. */
	deleteKey(params: DeleteKeyParams, options?: RequestOptions): Promise<DeleteResult>;
	/** certificates.delete: after a confirmation dialog and the PIN. */
	deleteCertificates(params: DeleteCertificatesParams, options?: RequestOptions): Promise<DeleteResult>;
	subscribe(): Promise<{ mode: 'events' | 'polling' }>;
	unsubscribe(): Promise<void>;
	/** Cancel, at the helper too, every request in flight (closes the connection; the client stays usable). */
	cancelRequests(): number;
	close(): void;
	on<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): () => void;
	on(type: string, listener: (...args: any[]) => void): () => void;
	once<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): () => void;
	once(type: string, listener: (...args: any[]) => void): () => void;
	off(type: string, listener: (...args: any[]) => void): void;
}

export function connect(options?: ConnectOptions): Promise<CardbridgeClient>;
export function localNetworkPermission(): Promise<'granted' | 'denied' | 'prompt' | 'unsupported'>;
export function browserEngine(): Engine;

declare const _default: {
	connect: typeof connect;
	CardbridgeClient: typeof CardbridgeClient;
	CardbridgeError: typeof CardbridgeError;
	localNetworkPermission: typeof localNetworkPermission;
	browserEngine: typeof browserEngine;
};
export default _default;
