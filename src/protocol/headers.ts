/** HTTP headers of the federation protocol (lower case, as Node hands them over). */

/** An update's metadata (JSON, {@link UploadMeta}) on POST /v1/update. */
export const META_HEADER = 'x-fedman-meta';
/** The client's key, on requests about a client that registered one at join. */
export const CLIENT_KEY_HEADER = 'x-fedman-client-key';
/** SHA-256 (hex) of a parameter version's bytes (GET /v1/params), to check a download resumed in pieces. */
export const PARAMS_DIGEST_HEADER = 'x-fedman-params-sha256';
/** The model version a parameter download holds (GET /v1/params). */
export const PARAMS_VERSION_HEADER = 'x-fedman-params-version';
/** The vector's length in float32 values (GET /v1/params). */
export const PARAM_COUNT_HEADER = 'x-fedman-param-count';
/** The model version an admin export holds (GET /v1/admin/model). */
export const MODEL_VERSION_HEADER = 'x-fedman-model-version';
