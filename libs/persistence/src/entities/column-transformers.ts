import type { ValueTransformer } from 'typeorm';

/**
 * 64-bit integer columns (ids, epoch milliseconds) come back from PostgreSQL as strings; every id and time
 * we store is below 2^53, so they are numbers in the model.
 */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};
