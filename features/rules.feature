Feature: A manager changes the business rules safely
  Managers change tiers, routing and SLA targets by editing YAML decision tables. A table only
  goes live when it loads and all its own tests pass; until then the active version keeps
  deciding, and every decision records the version that made it.

  Background:
    Given the shipped decision tables are published
    And the manager works on a copy of "customer_tier"

  Scenario: A change that breaks a test is refused, fixed, then published
    When she raises the lower bound of row "high-potential" to "[200..500)" as version 2
    And she runs the table tests
    Then the tests fail at the test of row "high-potential", expecting "key" but getting "ordinary"
    When she publishes the table
    Then publishing is refused and "customer_tier" version 1 is still active
    When she changes that test to a customer with a CLV of 250
    And she publishes the table
    Then "customer_tier" version 2 is active
    And a customer with a CLV of 180 is now "ordinary", decided by row "everyone-else"

  Scenario: A table that does not load never replaces the active one
    When she misspells the hit policy as "frist" as version 2
    And she publishes the table
    Then publishing is refused with "unknown hit policy 'frist'; did you mean 'first'?" at its line
    And "customer_tier" version 1 is still active

  Scenario: A complaint remembers which routing version decided it
    Given a complaint about billing has been triaged
    When the manager publishes a routing table version 3 that sends billing to "after_sales"
    And a second complaint about billing is triaged
    Then the first complaint's routing decision names version 2 and the queue "billing"
    And the second complaint's routing decision names version 3 and the queue "after_sales"
