Feature: A strategic customer gets a service plan of its own
  A customer who brings in a large share of the revenue is strategic: decisive for the business.
  The nightly tier recompute notices when a customer becomes strategic and opens a service plan
  for it. A manager gives the customer a dedicated account manager, who agrees the plan's goals
  with the customer, reviews the plan every month and tracks the custom solutions the customer
  needs until they are delivered. When the customer leaves the tier, the plan is handed over.
  Every step lands in the plan's and the customer's histories, which an auditor can verify.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And the account team: manager "max", account managers "kim" and "kai", agent "ann", auditor "zoe"

  Scenario: A customer who becomes strategic gets a plan, and only one
    Given the shop's 300 other customers bought as usual from March 2024 to February 2026
    And customer "S-100", Nordwerk GmbH, ordered for 250.00 every 2 weeks from 4 August 2025 to 2 February 2026
    When the tiers are recomputed
    Then Nordwerk GmbH's tier is "strategic", by the rule "large-revenue-share"
    And a strategic plan for Nordwerk GmbH waits for an account manager in the "plans" queue
    And the plan notes the tier and the share of the revenue Nordwerk GmbH had when it opened
    And Nordwerk GmbH's history says that becoming strategic opened the plan
    When the tiers are recomputed
    Then no plan is opened and none is moved
    And Nordwerk GmbH has 1 open strategic plan

  Scenario: The dedicated account manager runs the plan: goals, monthly reviews, custom solutions
    Given Nordwerk GmbH, customer "S-100", became strategic in this morning's recompute
    When 2 hours pass
    And "max" assigns "kim" as the dedicated account manager
    Then the plan is "planning" and assigned to "kim"
    And "kim" owns Nordwerk GmbH now
    When "kim" records the plan agreed with the customer: "Cut Nordwerk's delivery times by a third"
    Then the plan is "active" and its monthly review is due on Wednesday 1 April 2026, 11:00 UTC
    When "kim" tracks the custom solution "Consignment stock in Hamburg"
    And "kim" tracks the custom solution "EDI ordering"
    Then the custom solutions in progress are "Consignment stock in Hamburg, EDI ordering" and none is delivered
    When the worker runs on Wednesday 1 April 2026, 10:59 UTC
    Then the plan is "active" and its monthly review is due on Wednesday 1 April 2026, 11:00 UTC
    When the worker runs on Wednesday 1 April 2026, 11:00 UTC
    Then the plan is "review_due"
    When 3 hours pass
    And "kim" holds the monthly review, finding the plan "at_risk": "EDI ordering is two weeks late"
    Then the plan is "active" and its monthly review is due on Friday 1 May 2026, 11:00 UTC
    And 1 review has been held, the last one finding the plan "at_risk"
    When "kim" delivers the custom solution "Consignment stock in Hamburg"
    Then the custom solutions in progress are "EDI ordering" and those delivered "Consignment stock in Hamburg"
    And an auditor finds every history intact

  Scenario: Only a manager assigns the dedicated account manager, and only a real one
    Given "max" has opened a strategic plan for customer "S-200", Hafenbau AG
    When "ann" tries to assign "kim" as the dedicated account manager
    Then it is refused because role "agent" may not fire it
    When "kim" tries to assign "kim" as the dedicated account manager
    Then it is refused because role "account_manager" may not fire it
    When "zoe" tries to assign "kim" as the dedicated account manager
    Then it is refused because role "auditor" is read-only
    When "max" tries to assign "nina" as the dedicated account manager
    Then it is refused because the account manager is wrong: "there is no active user 'nina'"
    And the plan is "assigning" in the "plans" queue
    And nobody owns Hafenbau AG

  Scenario: A monthly review needs its notes, and only a tracked solution can be delivered
    Given "max" has opened a strategic plan for customer "S-300", Elbtal Logistik
    And "max" has assigned "kai" as the dedicated account manager
    And "kai" has recorded the plan agreed with the customer: "Halve the returns"
    When "kai" tries to deliver the custom solution "Night shipping"
    Then it is refused by the guard "has(case.solutions) && case.solution in case.solutions"
    When "kai" tries to call the monthly review early
    Then it is refused because role "account_manager" may not fire it
    When "max" calls the monthly review early
    And "kai" tries to hold the monthly review without notes
    Then it is refused because it needs the field "review_notes"
    And the plan is "review_due"
    And 0 reviews have been held

  Scenario: A customer has one open strategic plan at a time, and must exist
    Given "max" has opened a strategic plan for customer "S-400", Rheinkraft AG
    When "max" tries to open another strategic plan for customer "S-400"
    Then it is refused because Rheinkraft AG already has an open strategic plan, the one opened before
    When "max" tries to open a strategic plan for customer "S-404", whom nobody has recorded
    Then it is refused because the customer is wrong: "there is no customer 'S-404'"

  Scenario: A customer who leaves the tier has its plan handed over
    Given Nordwerk GmbH, customer "S-100", became strategic in this morning's recompute
    And "max" has assigned "kim" as the dedicated account manager
    And "kim" has recorded the plan agreed with the customer: "Cut Nordwerk's delivery times by a third"
    And Nordwerk GmbH ordered nothing more, while the other customers went on buying until February 2027
    When the tiers are recomputed on Monday 1 March 2027, 09:00 UTC
    Then Nordwerk GmbH's tier is "ordinary", by the rule "everyone-else"
    And the plan is "handing_over" in the "plans" queue
    And the plan's history says the workflow handed it over because the customer's tier changed
    And no monthly review is scheduled any more
    When "kim" finishes the hand-over: "Inside sales takes Nordwerk over; nothing is open"
    Then the plan is "ended" and in no queue

  Scenario: An auditor reads who did what to the plan and to the customer
    Given Nordwerk GmbH, customer "S-100", became strategic in this morning's recompute
    When 2 hours pass
    And "max" assigns "kim" as the dedicated account manager
    And "kim" records the plan agreed with the customer: "Cut Nordwerk's delivery times by a third"
    And the worker runs on Wednesday 1 April 2026, 11:00 UTC
    And "kim" holds the monthly review, finding the plan "on_track": "Deliveries are a day faster"
    And Nordwerk GmbH ordered nothing more, while the other customers went on buying until February 2027
    And the tiers are recomputed on Monday 1 March 2027, 09:00 UTC
    And "kim" finishes the hand-over: "Inside sales takes Nordwerk over; nothing is open"
    Then the plan's history reads
      | event             | who      | role            | from         | to           | why                                |
      | case.created      | casework | system          |              | assigning    | opened on customer.tier_changed    |
      | case.transitioned | max      | manager         | assigning    | planning     | assign_manager                     |
      | case.transitioned | kim      | account_manager | planning     | active       | agree_plan                         |
      | case.transitioned | casework | system          | active       | review_due   | review_due by timer monthly_review |
      | case.transitioned | kim      | account_manager | review_due   | active       | hold_review                        |
      | case.transitioned | casework | system          | active       | handing_over | hand_over on customer.tier_changed |
      | case.transitioned | kim      | account_manager | handing_over | ended        | finish_hand_over                   |
    And Nordwerk GmbH's history, leaving churn warnings aside, reads
      | event                 | who      | role    | what                             |
      | customer.tier_changed | casework | system  | none -> strategic                |
      | customer.case_started | casework | system  | nps_survey on tier_changed       |
      | customer.case_started | casework | system  | strategic_plan on tier_changed   |
      | customer.updated      | max      | manager | owner: none -> kim               |
      | customer.tier_changed | casework | system  | strategic -> ordinary            |
      | customer.case_moved   | casework | system  | nps_survey: stop                 |
      | customer.case_moved   | casework | system  | strategic_plan: hand_over        |
    And an auditor finds every history intact
