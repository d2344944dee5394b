package schema

// Migrations are the embedded migrations, for tests that apply only some.
var Migrations = migrations
