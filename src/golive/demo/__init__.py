"""The bundled demo: a sample service in two versions, a bounded load generator, a plan."""
