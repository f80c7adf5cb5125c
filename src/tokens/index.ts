export { getTokenizer, isEncodingName } from './tokenizer.ts'
export type { EncodingName, Tokenizer } from './tokenizer.ts'
