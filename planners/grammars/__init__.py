"""Grammar files shipped with ConvRec Studio (a package so that packaging carries its ``*.toml``)."""
