// The bundled upstream simulator: a fast, faithful fake of the Elumenta API v2 for the demo,
// the tests and the benchmarks. Start one with startSimulator(); the catalog is the doc's 52 models.
export { startSimulator } from './simulator.js';
export type { Simulator, SimulatorOptions } from './simulator.js';
export type { FaultKind } from './state.js';
export type { CatalogModel, ModelCategory, ModelConfig } from './catalog.js';
export { catalog } from './catalog.js';
