// The public face of the pure core: what the stream worker, store reader, jobs, offline
// SQL generator and API import. Everything here is I/O free.
export * from './features/definition.js';
export { DEFAULT_CATALOG } from './features/catalog.js';
export { CUSTOM_FEATURES } from './features/custom.js';
export { createRegistry, defaultRegistry, DEFAULT_LATENESS_MS, UnknownFeatureError, type Registry, type RegistryOptions } from './features/registry.js';
export { FeatureDefinitionError, definitionProblems, FEATURE_NAME, MAX_LIMIT } from './features/validate.js';
export { seriesIdOf, seriesSignature, selectorOf, tileExpireAt, type Series } from './features/series.js';
export * from './windows.js';
export * from './acceptance.js';
export { entityIdOf, timeOf, selectSample, valueLimitProblem, MAX_SCALED_VALUE, type Sample, type Selector } from './sample.js';
export { emptyTile, irKindOf, type IrKind, type Tile } from './aggregators.js';
export { CODEC_VERSION, decodeHash, encodeTileOps, parseField, tilePrefix, TileCodecError, type ParsedField, type TilePart, type TileSet } from './codec.js';
export { applyOps, argvToOps, opsToArgv, type HashFields, type TileOp } from './ops.js';
export { compareCodePoints, type RecentItem } from './ordering.js';
export { aggregateEvents, preaggregate, toWrite, type TileExpiry, type TileGroup, type TileWrite } from './preaggregate.js';
export { evaluateFromTiles, evaluateMany, type EvaluateContext, type Evaluation } from './evaluate.js';
export { referenceAccept, referenceValue } from './reference.js';
