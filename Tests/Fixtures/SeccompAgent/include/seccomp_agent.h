/* A seccomp notify agent for the tests (what listens at linux.seccomp.listenerPath). */
#ifndef SR_SECCOMP_AGENT_H
#define SR_SECCOMP_AGENT_H
int sr_seccomp_answer(int listener, int err, int *nr);
#endif
