// src/data: the embedded default training data (built from WordNet), user data, and batching.
export { type Example, type Tokenizer, EOT_TEXT, encodeWithEot, qaExample, textExample } from './types.ts';
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
  gpt2Tokenizer,
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
