// Opus
