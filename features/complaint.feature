Feature: The service desk works a customer complaint
  Complaints arrive by phone, email, web or a visit. The service desk triages them to the team
  that can help, answers the customer first, investigates, asks the customer when it needs to
  know more, resolves them with a root cause and a remedy, and follows up: a satisfied customer's
  complaint is closed, an unsatisfied one goes back to investigation. Every step lands in a
  history that an auditor can verify.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And agent "ann" and supervisor "sam" work the service desk

  Scenario: A complaint goes from intake to closed
    When customer "C-1001" complains by email: "The March invoice charges us twice"
    Then the complaint is "received" in the "intake" queue
    When "ann" triages it as a "billing" complaint of "high" severity
    Then the complaint is "in_progress" in the "billing" queue
    And it is assigned to "ann"
    And its first response is due within 8 hours and its resolution within 40 business hours
    When "ann" sends the first response: "We are looking into the double charge"
    Then its first reply clock is "met"
    When "ann" asks the customer: "Which invoice number do you mean?"
    Then the complaint is "waiting_customer" in the "billing" queue
    When "ann" records the customer's answer: "INV-2026-0311"
    And 2 hours pass
    And "ann" resolves it with a refund: "Credited the duplicate charge", the root cause being "the invoice run booked twice"
    Then the complaint is "resolved" in the "billing" queue
    When "ann" follows up and the customer is satisfied, rating 5: "All fine now"
    Then the complaint is "closed" and in no queue
    And the history reads
      | event              | who | from             | to               |
      | case.created       | ann |                  | received         |
      | case.transitioned  | ann | received         | in_progress      |
      | case.transitioned  | ann | in_progress      | in_progress      |
      | case.transitioned  | ann | in_progress      | waiting_customer |
      | case.transitioned  | ann | waiting_customer | in_progress      |
      | case.transitioned  | ann | in_progress      | resolved         |
      | case.transitioned  | ann | resolved         | closed           |
    And the auditor reads that the remedy was "refund" and the root cause "the invoice run booked twice"
    And an auditor finds every history intact

  Scenario: Only a supervisor may triage a critical complaint
    Given customer "C-2002" has complained by phone: "Our whole site is offline"
    When "ann" tries to triage it as a "technical" complaint of "critical" severity
    Then it is refused by the guard 'case.severity != "critical" || actor.role == "supervisor"'
    And the complaint is "received" in the "intake" queue
    When "sam" triages it as a "technical" complaint of "critical" severity
    Then the complaint is "in_progress" in the "technical_support" queue
    And it is assigned to "sam"

  Scenario: An auditor reads complaints but cannot move them
    Given auditor "zoe" reads the histories
    And customer "C-2102" has complained by web: "Wrong size delivered"
    When "zoe" tries to triage it as a "after_sales" complaint of "low" severity
    Then it is refused because role "auditor" is read-only
    And the complaint is "received" in the "intake" queue

  Scenario: A complaint cannot be resolved without a root cause and a remedy
    Given customer "C-3003" has complained by web: "The app crashes on login"
    And "ann" has triaged it as a "technical" complaint of "medium" severity
    When "ann" tries to resolve it with only a resolution: "Restarted the server"
    Then it is refused because it needs the field "root_cause"
    And the complaint is "in_progress" in the "technical_support" queue

  Scenario: An unsatisfied customer's complaint goes back to investigation
    Given customer "C-4004" has complained by visit: "The replacement part is wrong"
    And "ann" has triaged it as a "after_sales" complaint of "medium" severity
    And "ann" has resolved it with a replacement: "Sent the right part", the root cause being "a picking error"
    When "ann" tries to close it with a satisfaction of 2
    Then it is refused by the guard "case.csat >= 3"
    When "ann" follows up and the customer is not satisfied, rating 2: "Still the wrong colour"
    Then the complaint is "in_progress" in the "after_sales" queue
    And its field "reopen_count" is "1"
    And its field "csat" is "2"

  Scenario: A closed complaint is reopened within 30 days, and stays closed after that
    Given customer "C-5005" has complained by email: "Delivery was late"
    And "ann" has triaged it as a "after_sales" complaint of "low" severity
    And "ann" has resolved it with an apology: "Apologised and refunded shipping", the root cause being "a courier strike"
    And "ann" has closed it with a satisfaction of 4
    When 29 days pass
    And "ann" reopens it
    Then the complaint is "in_progress" in the "after_sales" queue
    When "ann" resolves it with a refund: "Refunded the order", the root cause being "a courier strike"
    And "ann" closes it with a satisfaction of 3
    And 31 days pass
    And "ann" tries to reopen it
    Then it is refused by the guard 'now - case.closed_at < duration("720h")'
    And the complaint is "closed" and in no queue

  Scenario: A duplicate complaint is linked to the first and closed
    Given customer "C-6006" has complained by phone: "I was overcharged"
    And customer "C-6006" has complained again by email: "Overcharged on my bill"
    When "ann" tries to mark the second complaint a duplicate of itself
    Then it is refused by the guard "case.duplicate_of != case.id"
    When "ann" tries to mark the second complaint a duplicate of complaint 999999
    Then it is refused as invalid: "there is no case 999999"
    When "ann" marks the second complaint a duplicate of the first
    Then the second complaint is closed as a duplicate of the first
    And the complaint is "received" in the "intake" queue

  Scenario: A resolved complaint the customer never answers closes itself
    Given customer "C-7007" has complained by email: "Missing manual"
    And "ann" has triaged it as a "after_sales" complaint of "low" severity
    And "ann" has resolved it with an explanation: "The manual is online", the root cause being "a packing slip"
    When the worker runs on Monday 9 March 2026, 08:30 UTC
    Then the complaint is "resolved" in the "after_sales" queue
    When the worker runs on Monday 9 March 2026, 09:00 UTC
    Then the complaint is "closed" and in no queue
    And the history says the workflow closed it by the timer "follow_up"

  Scenario: An auditor notices that someone rewrote the history
    Given customer "C-8008" has complained by phone: "I was overcharged"
    And "ann" has triaged it as a "billing" complaint of "high" severity
    When someone changes event 2 of the complaint's history in the database
    Then the audit reports event 2 of the complaint as altered
