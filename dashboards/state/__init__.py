"""The pages' state: ``param.Parameterized`` classes with no Panel import, testable alone."""
