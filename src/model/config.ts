// GPT-2 configurations: the from-scratch model, distilgpt2, gpt2, or any HF config.json.

export interface GPT2Config {
  /** real vocabulary (50257 for GPT-2's tokenizer) */
  vocab_size: number;
  /** context length (positions) */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** rows of wte as stored; >= vocab_size (padded for speed); logits beyond vocab_size are never sampled */
  padded_vocab_size: number;
  layer_norm_epsilon: number;
  /** <|endoftext|> (GPT-2: 50256; a compact vocabulary's last id) */
  eos_token_id: number;
}

export const GPT2_VOCAB = 50257;

function make(c: Partial<GPT2Config> & Pick<GPT2Config, 'n_layer' | 'n_embd' | 'n_head'>): GPT2Config {
  const vocab_size = c.vocab_size ?? GPT2_VOCAB;
  return {
    vocab_size,
    n_positions: c.n_positions ?? 1024,
    n_embd: c.n_embd,
    n_layer: c.n_layer,
    n_head: c.n_head,
    padded_vocab_size: c.padded_vocab_size ?? vocab_size,
    layer_norm_epsilon: c.layer_norm_epsilon ?? 1e-5,
    eos_token_id: c.eos_token_id ?? (vocab_size === GPT2_VOCAB ? 50256 : vocab_size - 1),
  };
}

export const CONFIGS = {
  /** ~35M parameters with GPT-2's tokenizer (the student's Model 1); vocab padded to a multiple of 64 */
  scratch: make({ n_layer: 8, n_embd: 384, n_head: 6, n_positions: 256, padded_vocab_size: 50304 }),
  /** a small model that learns visibly in minutes on a CPU adapter */
  tiny: make({ n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128, padded_vocab_size: 50304 }),
  distilgpt2: make({ n_layer: 6, n_embd: 768, n_head: 12, n_positions: 1024 }),
  gpt2: make({ n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024 }),
} satisfies Record<string, GPT2Config>;

export type ConfigName = keyof typeof CONFIGS;

/** The largest model shape accepted (GPT-2 XL has 48 layers × 1600): beyond it, a typo, not a model. */
const MAX_LAYERS = 1024,
  MAX_WIDTH = 65536;

/**
 * Throws one line unless the kernels can run shape `c`: n_embd divisible by n_head, head
 * dimension a multiple of 4 (the attention kernels read vec4s), sizes within reason. `name`
 * says how the caller spells each field (config.json's keys, or the trainer's flags).
 */
export function checkShape(
  c: Pick<GPT2Config, 'n_layer' | 'n_embd' | 'n_head'>,
  source: string,
  name: (f: 'n_layer' | 'n_embd' | 'n_head') => string = (f) => f,
): void {
  for (const f of ['n_layer', 'n_embd', 'n_head'] as const) {
    if (!(Number.isInteger(c[f]) && c[f] > 0))
      throw new Error(`${source}: ${name(f)} must be a positive integer (got ${c[f]})`);
  }
  if (c.n_layer > MAX_LAYERS) throw new Error(`${source}: ${name('n_layer')} ${c.n_layer} is over ${MAX_LAYERS}`);
  if (c.n_embd > MAX_WIDTH) throw new Error(`${source}: ${name('n_embd')} ${c.n_embd} is over ${MAX_WIDTH}`);
  if (c.n_embd % c.n_head)
    throw new Error(`${source}: ${name('n_embd')} ${c.n_embd} is not divisible by ${name('n_head')} ${c.n_head}`);
  const hd = c.n_embd / c.n_head;
  if (hd % 4)
    throw new Error(`${source}: head dimension ${name('n_embd')} / ${name('n_head')} = ${hd} must be a multiple of 4`);
}

/** A config from a Hugging Face config.json object (GPT2LMHeadModel); throws naming the bad field. */
export function fromHF(j: Record<string, unknown>, source = 'config.json'): GPT2Config {
  const num = (k: string, alt?: string): number => {
    const v = j[k] ?? (alt ? j[alt] : undefined);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new Error(`${source}: field "${k}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const n_embd = num('n_embd', 'hidden_size');
  const n_head = num('n_head', 'num_attention_heads');
  const eps = j.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new Error(`${source}: layer_norm_epsilon must be a positive number`);
  const act = j.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh')
    throw new Error(`${source}: activation_function "${act}" is not supported (gelu_new only)`);
  const eos = j.eos_token_id;
  if (
    eos !== undefined &&
    eos !== null &&
    !(typeof eos === 'number' && Number.isInteger(eos) && eos >= 0 && eos < num('vocab_size'))
  ) {
    throw new Error(`${source}: eos_token_id ${JSON.stringify(eos)} is outside the vocabulary of ${num('vocab_size')}`);
  }
  checkShape({ n_layer: num('n_layer', 'num_hidden_layers'), n_embd, n_head }, source);
  return make({
    eos_token_id: typeof eos === 'number' ? eos : undefined,
    vocab_size: num('vocab_size'),
    n_positions: num('n_positions', 'max_position_embeddings'),
    n_embd,
    n_head,
    n_layer: num('n_layer', 'num_hidden_layers'),
    layer_norm_epsilon: eps,
  });
}

/** The config.json we write next to an exported model.safetensors (loadable by transformers). */
export function toHF(c: GPT2Config): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    vocab_size: c.vocab_size,
    n_positions: c.n_positions,
    n_ctx: c.n_positions,
    n_embd: c.n_embd,
    n_layer: c.n_layer,
    n_head: c.n_head,
    n_inner: null,
    layer_norm_epsilon: c.layer_norm_epsilon,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.02,
    bos_token_id: c.eos_token_id,
    eos_token_id: c.eos_token_id,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
}

/**
 * One parameter of GPT-2: its Hugging Face name (without the `transformer.` prefix of the file),
 * its shape in HF's layout (Conv1D weights are [in, out]), and whether AdamW decays it (the
 * embeddings and matmul weights: every tensor of 2+ dimensions, as in nanoGPT).
 */
export interface ParamEntry {
  name: string;
  shape: number[];
  decay: boolean;
}

/**
 * Every parameter of GPT-2 in Hugging Face's order, the one table that the model's parameter
 * registry, the HF import/export and paramCount read. wte has `vocabRows` rows (the model pads it
 * to padded_vocab_size; HF files hold vocab_size). lm_head is tied to wte and has no entry.
 */
export function gpt2Layout(c: GPT2Config, vocabRows = c.vocab_size): ParamEntry[] {
  const C = c.n_embd;
  const t = (name: string, ...shape: number[]): ParamEntry => ({ name, shape, decay: shape.length >= 2 });
  const layout = [t('wte.weight', vocabRows, C), t('wpe.weight', c.n_positions, C)];
  for (let i = 0; i < c.n_layer; i++) {
    const h = `h.${i}.`;
    layout.push(
      t(`${h}ln_1.weight`, C),
      t(`${h}ln_1.bias`, C),
      t(`${h}attn.c_attn.weight`, C, 3 * C), // q, k, v concatenated along the output axis
      t(`${h}attn.c_attn.bias`, 3 * C),
      t(`${h}attn.c_proj.weight`, C, C),
      t(`${h}attn.c_proj.bias`, C),
      t(`${h}ln_2.weight`, C),
      t(`${h}ln_2.bias`, C),
      t(`${h}mlp.c_fc.weight`, C, 4 * C),
      t(`${h}mlp.c_fc.bias`, 4 * C),
      t(`${h}mlp.c_proj.weight`, 4 * C, C),
      t(`${h}mlp.c_proj.bias`, C),
    );
  }
  layout.push(t('ln_f.weight', C), t('ln_f.bias', C));
  return layout;
}

/** Parameter count of the model (wte counted once at the real vocabulary: lm_head is tied). */
export function paramCount(c: GPT2Config): number {
  return gpt2Layout(c).reduce((n, e) => n + e.shape.reduce((x, y) => x * y, 1), 0);
}
