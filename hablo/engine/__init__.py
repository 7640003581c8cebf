"""The actor engine: tenants and conversations as pykka actors, one transaction per turn."""
