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

/** The methods a page may call (doc/PROTOCOL.md, "Methods"). */
export type MethodName =
	| 'system.hello' | 'tokens.list' | 'keys.generate' | 'certificates.install'
	| 'certificates.list' | 'events.subscribe' | 'events.unsubscribe';

/** Reasons the helper answers with (doc/PROTOCOL.md, "Error reasons"). */
export type ProtocolReason =
	| 'PARSE_ERROR' | 'INVALID_REQUEST' | 'METHOD_NOT_FOUND' | 'INVALID_PARAMS'
	| 'INTERNAL_ERROR' | 'ORIGIN_NOT_ALLOWED' | 'BUSY' | 'TOO_LARGE' | 'USER_CANCELLED'
	| 'PIN_INCORRECT' | 'PIN_LOCKED' | 'TOKEN_NOT_PRESENT' | 'CARD_REMOVED' | 'KEY_NOT_FOUND'
	| 'SLOT_OCCUPIED' | 'UNSUPPORTED_ALGORITHM' | 'TOKEN_WRITE_PROTECTED' | 'MODULE_ERROR'
	| 'TIMEOUT' | 'TOO_DEEP' | 'PIN_INVALID' | 'SERVICE_STOPPED';

/** Reasons raised by the client library itself (code is null). */
export type ClientReason =
	| 'NOT_RUNNING' | 'LOCAL_NETWORK_ACCESS_DENIED' | 'ORIGIN_NOT_ALLOWED'
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
	/** The page is itself on loopback: no browser permission applies. */
	pageIsLocal: boolean;
	/** The page's local network access permission, as the Permissions API tells. */
	permission: 'granted' | 'denied' | 'prompt' | 'unsupported' | 'not-applicable';
	/** Something answered plain HTTP on the helper's port (it is running). */
	helperAnswersHttp: boolean;
	/** What decided the reason. */
	evidence: 'permission' | 'http-probe' | 'timing' | 'refused' | 'refused-fast' | 'constructor' | null;
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
	details: ConnectFailureDetails | { closeCode?: number } | null;
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

export interface ConnectStatus {
	state: 'connecting' | 'permission-prompt' | 'launching' | 'retrying' | 'connected' | 'failed' | 'disconnected';
	attempt?: number;
	url?: string;
	helper?: HelloResult;
	error?: CardbridgeError;
	code?: number;
	byUser?: boolean;
}

export interface ConnectOptions {
	/** Helper port (default 48801). */
	port?: number;
	/** Loopback name: '127.0.0.1' (default), '[::1]' or 'localhost'. */
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

export interface HelloResult {
	name: 'cardbridge';
	version: string;
	protocol: 1;
	methods: string[];
	modules: ModuleInfo[];
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

export interface GenerateKeyPairResult {
	/** CKA_ID of the key pair, hex. */
	keyId: string;
	publicKey: string;
	/** PKCS#10, PEM, signed on the token. */
	csr: string;
}

export interface ListCertificatesParams {
	token?: string;
}

/** The params each method takes (doc/PROTOCOL.md). */
export interface MethodParams {
	'system.hello': Record<string, never>;
	'tokens.list': Record<string, never>;
	'keys.generate': GenerateKeyPairParams;
	'certificates.install': InstallCertificateParams;
	'certificates.list': ListCertificatesParams;
	'events.subscribe': Record<string, never>;
	'events.unsubscribe': Record<string, never>;
}

export interface InstallCertificateParams {
	certificate: string;
	token?: string;
	chain?: string[];
	label?: string;
	allowExpired?: boolean;
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

export interface CardEvent {
	type: CardEventType | string;
	reader?: string;
	/** Token URI (synthetic events). */
	token?: string;
	label?: string;
	/** tokensChanged: the new list. */
	tokens?: Token[];
	/** tokensChanged from the helper: the cards waiting for their module, if any. */
	waitingCards?: WaitingCard[];
	/** True when made by the client from tokens.list polling. */
	synthetic?: boolean;
	[key: string]: unknown;
}

export interface RequestOptions {
	/** ms; default per method. */
	timeout?: number;
	/** Stop waiting (the helper is not told). */
	signal?: AbortSignal;
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
	subscribe(): Promise<{ mode: 'events' | 'polling' }>;
	unsubscribe(): Promise<void>;
	close(): void;
	on<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): () => void;
	on(type: string, listener: (...args: any[]) => void): () => void;
	once<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): () => void;
	once(type: string, listener: (...args: any[]) => void): () => void;
	off(type: string, listener: (...args: any[]) => void): void;
}

export function connect(options?: ConnectOptions): Promise<CardbridgeClient>;
export function localNetworkPermission(): Promise<'granted' | 'denied' | 'prompt' | 'unsupported'>;

declare const _default: {
	connect: typeof connect;
	CardbridgeClient: typeof CardbridgeClient;
	CardbridgeError: typeof CardbridgeError;
	localNetworkPermission: typeof localNetworkPermission;
};
export default _default;
