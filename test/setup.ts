import fc from 'fast-check';

// Pin fast-check's seed from the environment so that a CI failure replays locally:
// FC_SEED=<seed printed by the failure> npm test
const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') fc.configureGlobal({ seed: Number(seed) });
