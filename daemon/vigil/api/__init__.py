"""The HTTPS API: one route table (every route names its permission), thin handlers."""
