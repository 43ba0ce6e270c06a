#!/usr/bin/env node
// `npm run fuzz`: the kernel fuzz campaign (conformance/src/fuzz), run from its built JavaScript,
// which `npm run fuzz` builds first. Arguments after `--` go to the campaign: see `--help`.
import { main } from '@mcp0/conformance/fuzz';

process.exitCode = await main(process.argv.slice(2));
