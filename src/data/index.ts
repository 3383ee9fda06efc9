// src/data: the embedded default training data (built from WordNet), user data, and batching.
export { type Example, lowerCaseQuestion, qaExample, textExample } from './types.ts';
export {
  type BuildOptions,
  type DataStats,
  type Dataset,
  type LoadOptions,
  type Mix,
  type SplitStats,
  DATA_VERSION,
  MIXES,
  MOTIVATING_ENTITIES,
  buildDataset,
  countTokens,
  datasetCachePath,
  formatStats,
  loadDataset,
} from './build.ts';
export { loadUserData } from './user.ts';
export {
  type Batch,
  type EncodedSeq,
  type LossOn,
  type PackOptions,
  encodeExamples,
  loadBatchFile,
  makeEpoch,
  packEpoch,
} from './batch.ts';
export { TRAIN_PHRASINGS, VAL_PHRASINGS } from './render.ts';
