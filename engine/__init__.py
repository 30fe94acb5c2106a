"""The Auster Models DSL engine: spec, validator, executor and the operation registry."""
