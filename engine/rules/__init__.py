"""Decision tables: unary cells compiled to CEL, hit policies, explain and tests, and their loading
from YAML."""
