"""The business as a customer of the platform: plans and their limits, usage counting,
tenant settings and who gets told about what."""
