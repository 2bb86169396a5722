export { pooledConfig as default } from '../../tooling/vitest.config.js';
