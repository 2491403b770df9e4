/**
 * Copies Scalar's browser bundle from the installed @scalar/api-reference (package-lock's exact
 * version) into the static-assets folder, where /docs loads it from the worker's own origin.
 * Run by wrangler before every dev, deploy and dry run (wrangler.toml [build]), and by the
 * vitest config. The copy is not committed: a fresh clone makes it after `npm ci`. An unchanged
 * copy is left alone, so wrangler dev's rebuilds cost a compare.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { SCALAR_BUNDLE_PATH } from "../src/openapi/docs-page.ts";

const root = path.resolve(import.meta.dirname, "..");

/** wrangler.toml's [assets] directory. */
export const ASSETS_DIR = path.join(root, "public");

export const SCALAR_BUNDLE_SOURCE = path.join(
  root,
  "node_modules",
  "@scalar",
  "api-reference",
  "dist",
  "browser",
  "standalone.js",
);

/** Makes sure the assets folder holds the installed bundle; returns the copy's path. */
export function copyDocsAssets(): string {
  if (!existsSync(SCALAR_BUNDLE_SOURCE)) {
    throw new Error(`${SCALAR_BUNDLE_SOURCE} is missing: run npm ci first`);
  }
  const target = path.join(ASSETS_DIR, ...SCALAR_BUNDLE_PATH.split("/"));
  const bundle = readFileSync(SCALAR_BUNDLE_SOURCE);
  if (!existsSync(target) || !readFileSync(target).equals(bundle)) {
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(SCALAR_BUNDLE_SOURCE, target);
  }
  return target;
}

if (import.meta.main) copyDocsAssets();
