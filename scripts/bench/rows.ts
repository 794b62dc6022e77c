export interface BenchRow { id: string; benchmark: string; berth: number; baseline: number | null; unit: string; ratio: number | null; target: string; met: boolean }
