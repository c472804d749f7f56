/*
 * The pod sandbox's process. A pod's containers join the namespaces this process holds open, so it
 * only has to stay alive until the kubelet tears the pod down, and then leave promptly and cleanly.
 * When the pod shares one process namespace it is PID 1 there: orphaned processes become its
 * children and it reaps them, or they would stay zombies until the pod ends.
 *
 * Built static (gcc -static -Os) so the image needs nothing besides this one file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static volatile sig_atomic_t stopping;

static void on_stop(int sig) {
    (void)sig;
    stopping = 1;
}

static void on_child(int sig) {
    int saved = errno;
    (void)sig;
    /* One SIGCHLD may stand for several children that exited together. */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        puts("plumr pause");
        return 0;
    }

    /* Keep the signals blocked except inside sigsuspend, so one that arrives between the check
     * and the wait is not lost (which would leave the pod hanging until the kubelet kills it). */
    sigset_t blocked, waiting;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &blocked, &waiting) != 0) {
        perror("pause: sigprocmask");
        return 1;
    }
    sigdelset(&waiting, SIGINT);
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGCHLD);

    /* Handlers rather than default dispositions: as PID 1 of a namespace, a signal left at its
     * default is ignored, so SIGTERM would not stop us. */
    struct sigaction stop = {.sa_handler = on_stop};
    struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    sigemptyset(&stop.sa_mask);
    sigemptyset(&child.sa_mask);
    if (sigaction(SIGINT, &stop, NULL) != 0 || sigaction(SIGTERM, &stop, NULL) != 0 || sigaction(SIGCHLD, &child, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }

    while (!stopping) sigsuspend(&waiting);
    return 0;
}
