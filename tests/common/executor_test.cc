#include "server/common/executor.h"

#include <atomic>
#include <memory>
#include <set>
#include <thread>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

TEST(ThreadPoolTest, RunsEveryScheduledClosure) {
  constexpr int kClosures = 1000;
  std::atomic<int> ran{0};
  absl::BlockingCounter done(kClosures);
  ThreadPool pool(4);
  for (int i = 0; i < kClosures; ++i) {
    pool.Schedule([&] {
      ran.fetch_add(1);
      done.DecrementCount();
    });
  }
  done.Wait();
  EXPECT_EQ(ran.load(), kClosures);
}

TEST(ThreadPoolTest, RunsClosuresOnItsOwnThreadsConcurrently) {
  // Two closures that each wait for the other can only finish when they run
  // on two threads at once.
  ThreadPool pool(2);
  absl::Notification first_started, second_started;
  absl::BlockingCounter done(2);
  std::set<std::thread::id> threads;
  absl::Mutex mu;
  pool.Schedule([&] {
    first_started.Notify();
    second_started.WaitForNotification();
    absl::MutexLock lock(&mu);
    threads.insert(std::this_thread::get_id());
    done.DecrementCount();
  });
  pool.Schedule([&] {
    second_started.Notify();
    first_started.WaitForNotification();
    absl::MutexLock lock(&mu);
    threads.insert(std::this_thread::get_id());
    done.DecrementCount();
  });
  done.Wait();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(ThreadPoolTest, DestructorRunsEverythingStillQueuedBeforeJoining) {
  std::atomic<int> ran{0};
  absl::Notification release;
  auto pool = std::make_unique<ThreadPool>(1);
  // The only worker is held, so the next closures wait in the queue.
  pool->Schedule([&] {
    release.WaitForNotification();
    ran.fetch_add(1);
  });
  for (int i = 0; i < 100; ++i) pool->Schedule([&] { ran.fetch_add(1); });
  std::thread destroyer([&] { pool.reset(); });
  release.Notify();
  destroyer.join();
  EXPECT_EQ(ran.load(), 101);
}

TEST(ThreadPoolTest, ClosuresMayScheduleMoreWork) {
  absl::Notification inner_ran;
  ThreadPool pool(1);
  pool.Schedule([&] { pool.Schedule([&] { inner_ran.Notify(); }); });
  inner_ran.WaitForNotification();
  EXPECT_TRUE(inner_ran.HasBeenNotified());
}

TEST(ThreadPoolTest, ScheduleFromManyThreadsLosesNothing) {
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> ran{0};
  {
    ThreadPool pool(3);
    std::vector<std::thread> schedulers;
    for (int t = 0; t < kThreads; ++t) {
      schedulers.emplace_back([&] {
        for (int i = 0; i < kEach; ++i) pool.Schedule([&] { ran.fetch_add(1); });
      });
    }
    for (auto& t : schedulers) t.join();
  }  // the destructor drains
  EXPECT_EQ(ran.load(), kThreads * kEach);
}

// Found by the fault soak: after a burst had grown the exchange pool to its
// maximum, a steady trickle of work kept every thread alive for good (each
// waiting thread was woken in turn before its idle timeout).
TEST(ThreadPoolTest, ShrinksBackAfterABurstWhileWorkKeepsTrickling) {
  constexpr int kBurst = 32;
  ThreadPool pool(1, kBurst, absl::Milliseconds(300));
  absl::Notification release;
  absl::BlockingCounter started(kBurst);
  for (int i = 0; i < kBurst; ++i) {
    pool.Schedule([&] {
      started.DecrementCount();
      release.WaitForNotification();
    });
  }
  started.Wait();
  EXPECT_EQ(pool.threads(), kBurst);
  release.Notify();
  // Work that one or two threads keep up with: a 2 ms task every 5 ms, for
  // seven idle timeouts.
  std::atomic<int> ran{0};
  for (absl::Time end = absl::Now() + absl::Milliseconds(2100); absl::Now() < end;) {
    pool.Schedule([&] {
      absl::SleepFor(absl::Milliseconds(2));
      ++ran;
    });
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_LE(pool.threads(), kBurst / 4);
  EXPECT_GT(ran.load(), 0);
}

}  // namespace
}  // namespace tokenbroker
