// The probe as a library: what tsx src/probe.ts prints, for tests and the trainer's evaluation.
export {
  inspect,
  nextTokens,
  tokenLosses,
  logitLens,
  type InspectOpts,
  type InspectResult,
  type LossResult,
  type TokenLoss,
  type LensLayer,
} from './inspect.ts';
export {
  diagnose,
  judge,
  functionWordIds,
  DEFAULT_PROMPTS,
  DEFAULT_THRESHOLDS,
  FUNCTION_WORDS,
  NULL_PROMPT,
  type Diagnosis,
  type DiagnoseOpts,
  type PromptDiagnosis,
  type PromptSpec,
  type AnswerScore,
  type Thresholds,
  type Signal,
  type Label,
} from './diagnose.ts';
export { checkIds, mapRows, nextLogits, residuals, headLogits, type RowRef } from './readout.ts';
export { logSoftmax, klDivergence, entropy, rankOf, topTokens, describeToken, type TopToken } from './stats.ts';
export { topTable, lossTable, lensTable, diagnoseReport, diagnoseSummary, sideBySide } from './format.ts';
export { runProbeCli, MOTIVATING_PROMPT, unescapeArg, parseIds, readPrompts, type ProbeIO } from './cli.ts';
