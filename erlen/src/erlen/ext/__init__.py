"""First-party extensions: data layer, auth, CSRF, REST resources, jobs."""
