// The built-in models. Each port lives in its own file; choose.ts picks one per tree (or per architecture folder).
import type { Model } from '../types';
import { kvmArm64Pgt, kvmArmV4 } from './arm';

export { kvmArm64Pgt, kvmArmV4 } from './arm';

export const builtinModels: Model[] = [kvmArmV4, kvmArm64Pgt];
