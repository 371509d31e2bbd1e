#!/usr/bin/env node
// Placeholder entry so the build has the bin target; the commands arrive with the CLI work.
