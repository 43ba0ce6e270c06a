/**
 * The RSS run: many hostile calls against a fixed set of modules (the reference artifacts,
 * re-signed, in every tier) in one child, with the child's RSS sampled every 500 calls after a
 * full garbage collection. The host may grow while it warms up; after the first 1,000 calls it
 * must hold steady: RSS after 10,000 calls within 20% of RSS after 1,000, and no upward trend
 * (see `withinTarget`).
 */
import { appendManifest, signModule, type PrivateKey } from '@mcp0/abi';
import type { Artifact } from './artifacts.js';
import { fuzzManifest, type FuzzLimits } from './pack.js';
import type { RssMessage, SampleMessage } from './protocol.js';

/** The RSS figures of a run. */
export interface RssFigures {
  calls: number;
  sampleEvery: number;
  samples: { calls: number; rssMb: number }[];
  /** RSS after the first 1,000 calls and after the last call, in MiB. */
  at1kMb?: number;
  atEndMb?: number;
  /** atEnd / at1k − 1. */
  growth?: number;
  /** Least-squares slope of the samples from 1,000 calls on, in MiB per 1,000 calls. */
  slopeMbPer1k?: number;
  /**
   * Growth within 20%, and no upward trend: the slope, over the run's length after 1,000 calls,
   * adds at most 10% of at1k (what is left for noise, which is a few percent after a full GC).
   */
  withinTarget?: boolean;
  outcomes: Record<string, number>;
}

/**
 * The RSS run's message: every reference artifact, packed like a fuzzed module but not mutated.
 * @example
 * target.rss(rssMessage(artifacts, key, limits, seed, 10_000), onSample)
 */
export function rssMessage(artifacts: readonly Artifact[], key: PrivateKey, limits: FuzzLimits, seed: number, calls: number, sampleEvery = 500): RssMessage {
  const modules = artifacts.map((a, i) => {
    const manifest = fuzzManifest(
      `fuzz.rss${i}`,
      a.manifest.exports.map((e) => e.name),
      limits,
    );
    return { bytes: signModule(appendManifest(a.bare, manifest), key), exports: manifest.exports.map((e) => e.name) };
  });
  return { t: 'rss', seed, modules, calls, sampleEvery };
}

const MB = 2 ** 20;

/**
 * The figures of a run's samples.
 * @example
 * rssFigures([{ t: 'sample', calls: 1000, rss: 2e8 }, { t: 'sample', calls: 10000, rss: 2.1e8 }], 10000, 500, {}).growth // 0.05
 */
export function rssFigures(samples: readonly SampleMessage[], calls: number, sampleEvery: number, outcomes: Record<string, number>): RssFigures {
  const points = samples.map((s) => ({ calls: s.calls, rssMb: Math.round((s.rss / MB) * 10) / 10 }));
  const figures: RssFigures = { calls, sampleEvery, samples: points, outcomes };
  const at1k = samples.find((s) => s.calls === 1000);
  const last = samples[samples.length - 1];
  if (!at1k || !last || last.calls <= 1000) return figures;
  figures.at1kMb = Math.round((at1k.rss / MB) * 10) / 10;
  figures.atEndMb = Math.round((last.rss / MB) * 10) / 10;
  figures.growth = Math.round((last.rss / at1k.rss - 1) * 1000) / 1000;
  const tail = samples.filter((s) => s.calls >= 1000);
  const mx = tail.reduce((s, p) => s + p.calls, 0) / tail.length;
  const my = tail.reduce((s, p) => s + p.rss, 0) / tail.length;
  const slope = tail.reduce((s, p) => s + (p.calls - mx) * (p.rss - my), 0) / tail.reduce((s, p) => s + (p.calls - mx) ** 2, 0);
  figures.slopeMbPer1k = Math.round(((slope * 1000) / MB) * 100) / 100;
  const trendOverRun = slope * (last.calls - 1000);
  figures.withinTarget = Math.abs(figures.growth) <= 0.2 && trendOverRun <= 0.1 * at1k.rss;
  return figures;
}
