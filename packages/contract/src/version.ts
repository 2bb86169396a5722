/** The contract version this code implements; the SDK's version and the document's `info.version` follow it. */
export const CONTRACT_VERSION = '1.3.0';
